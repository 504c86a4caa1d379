/* Unit test of the framed protocol between mpirun and its daemons
 * (mpirun/frame.c) against malformed input, since each side parses what
 * another process wrote: a frame comes out only when whole, a length over
 * the bound or a missing end byte is a protocol error (never a read past
 * the buffer), and the get helpers on a short or lying payload set `bad`
 * and return nothing from outside the payload.  Frames are fed through a
 * pipe a byte at a time and all at once. */
#include "config.h"
#include "mpirun/mpirun.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

#define CHECK(c)                                                 \
    do {                                                         \
        if (!(c)) {                                              \
            fprintf(stderr, "FAIL line %d: %s\n", __LINE__, #c); \
            failures++;                                          \
        }                                                        \
    } while (0)

/* in := the bytes, as read from a pipe */
static void frame_feed(tide_frame_buf_t *in, const void *p, size_t len)
{
    int fd[2];
    if (pipe(fd) < 0 || write(fd[1], p, len) != (ssize_t)len) {
        perror("pipe");
        exit(99);
    }
    close(fd[1]);
    while (tide_frame_read(fd[0], in) > 0)
        ;
    close(fd[0]);
}

static void test_roundtrip_bytewise(void)
{
    tide_frame_buf_t pay = {0}, wire = {0}, in = {0}, f;
    tide_frame_put_u32(&pay, 7);
    tide_frame_put_str(&pay, "host-a");
    tide_frame_put_bytes(&pay, "xyz", 3);
    tide_frame_encode(&wire, TIDE_FRAME_OUT, pay.p, pay.len);
    tide_frame_encode(&wire, TIDE_FRAME_STDIN, NULL, 0);
    uint32_t type = 0;
    int got = 0;
    for (size_t i = 0; i < wire.len; i++) {
        frame_feed(&in, wire.p + i, 1);
        int k;
        while ((k = tide_frame_next(&in, &type, &f)) > 0) {
            got++;
            if (type == TIDE_FRAME_OUT) {
                size_t n;
                CHECK(tide_frame_get_u32(&f) == 7);
                CHECK(strcmp(tide_frame_get_str(&f), "host-a") == 0);
                CHECK(memcmp(tide_frame_get_bytes(&f, &n), "xyz", 3) == 0 && n == 3);
                CHECK(!f.bad);
                tide_frame_get_u32(&f); /* past the end */
                CHECK(f.bad);
            } else {
                CHECK(type == TIDE_FRAME_STDIN && f.len == 0);
            }
        }
        CHECK(k == 0);
    }
    CHECK(got == 2);
    tide_frame_buf_free(&pay);
    tide_frame_buf_free(&wire);
    tide_frame_buf_free(&in);
}

static void test_bad_headers(void)
{
    tide_frame_buf_t in = {0}, f;
    uint32_t type, huge[2] = {TIDE_FRAME_OUT, 0xfffffff0u};
    frame_feed(&in, huge, sizeof(huge));
    CHECK(tide_frame_next(&in, &type, &f) < 0);
    tide_frame_buf_free(&in);

    /* the length covers the payload, but the end byte is not a newline */
    char bad[8 + 3 + 1];
    uint32_t hdr[2] = {TIDE_FRAME_OUT, 3};
    memcpy(bad, hdr, 8);
    memcpy(bad + 8, "abcX", 4);
    frame_feed(&in, bad, sizeof(bad));
    CHECK(tide_frame_next(&in, &type, &f) < 0);
    tide_frame_buf_free(&in);

    /* a header alone, or a header and part of the payload: not yet */
    frame_feed(&in, bad, 10);
    CHECK(tide_frame_next(&in, &type, &f) == 0);
    tide_frame_buf_free(&in);
}

/* Payloads whose inner lengths lie: nothing outside the payload is read. */
static void test_lying_payloads(void)
{
    tide_frame_buf_t b = {0};
    size_t n = 99;
    tide_frame_put_u32(&b, 1000); /* a byte string of 1000 bytes, 2 present */
    tide_frame_put_raw(&b, "ab", 2);
    CHECK(tide_frame_get_bytes(&b, &n) == NULL && n == 0 && b.bad);
    CHECK(strcmp(tide_frame_get_str(&b), "") == 0); /* stays bad */
    tide_frame_buf_free(&b);

    tide_frame_put_u32(&b, 3); /* a "string" without its NUL */
    tide_frame_put_raw(&b, "abc", 3);
    CHECK(strcmp(tide_frame_get_str(&b), "") == 0 && b.bad);
    tide_frame_buf_free(&b);

    tide_frame_put_u32(&b, 0); /* an empty string must still have its NUL */
    CHECK(strcmp(tide_frame_get_str(&b), "") == 0 && b.bad);
    tide_frame_buf_free(&b);

    tide_frame_put_raw(&b, "ab", 2); /* u64 from 2 bytes */
    CHECK(tide_frame_get_u64(&b) == 0 && b.bad);
    tide_frame_buf_free(&b);
}

int main(void)
{
    test_roundtrip_bytewise();
    test_bad_headers();
    test_lying_payloads();
    if (failures == 0)
        printf("frame_test: ok\n");
    return failures ? 1 : 0;
}

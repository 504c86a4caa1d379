/* The framed protocol between mpirun and its per-host daemons, carried over
 * the launch agent's own stdin/stdout (ssh, srun, ip netns exec): no
 * listening ports.  A frame is a 4-byte type and a 4-byte payload length
 * (host byte order: both ends are the same build of mpirun; mixed-endian
 * clusters are not supported), then the payload, built and read with the
 * put/get helpers below, then a newline: a transport that forwards output
 * a line at a time (Slurm's slurmstepd does unless --unbuffered) then
 * never holds back the end of a frame.  Sending takes a lock, since a daemon's PMIx thread
 * (fence, direct modex, abort) and its main loop both send. */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define FRAME_HDR 8
#define FRAME_MAX (256u << 20) /* sanity bound on one frame */

static pthread_mutex_t frame_send_lock = PTHREAD_MUTEX_INITIALIZER;

static int frame_reserve(tide_frame_buf_t *b, size_t more)
{
    if (b->bad)
        return -1;
    if (b->len + more <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + more)
        ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (np == NULL) {
        b->bad = 1;
        return -1;
    }
    b->p = np;
    b->cap = ncap;
    return 0;
}

void tide_frame_put_bytes(tide_frame_buf_t *b, const void *p, size_t len)
{
    tide_frame_put_u32(b, (uint32_t)len);
    if (len > 0 && frame_reserve(b, len) == 0) {
        memcpy(b->p + b->len, p, len);
        b->len += len;
    }
}

void tide_frame_put_raw(tide_frame_buf_t *b, const void *p, size_t len)
{
    if (len > 0 && frame_reserve(b, len) == 0) {
        memcpy(b->p + b->len, p, len);
        b->len += len;
    }
}

void tide_frame_put_u32(tide_frame_buf_t *b, uint32_t v)
{
    if (frame_reserve(b, sizeof(v)) == 0) {
        memcpy(b->p + b->len, &v, sizeof(v));
        b->len += sizeof(v);
    }
}

void tide_frame_put_u64(tide_frame_buf_t *b, uint64_t v)
{
    if (frame_reserve(b, sizeof(v)) == 0) {
        memcpy(b->p + b->len, &v, sizeof(v));
        b->len += sizeof(v);
    }
}

/* Strings travel with their NUL, so a get can return a pointer in place. */
void tide_frame_put_str(tide_frame_buf_t *b, const char *s)
{
    tide_frame_put_bytes(b, s, strlen(s) + 1);
}

static const char *frame_take(tide_frame_buf_t *b, size_t n)
{
    if (b->bad || b->len - b->off < n) {
        b->bad = 1;
        return NULL;
    }
    const char *p = b->p + b->off;
    b->off += n;
    return p;
}

uint32_t tide_frame_get_u32(tide_frame_buf_t *b)
{
    uint32_t v = 0;
    const char *p = frame_take(b, sizeof(v));
    if (p != NULL)
        memcpy(&v, p, sizeof(v));
    return v;
}

uint64_t tide_frame_get_u64(tide_frame_buf_t *b)
{
    uint64_t v = 0;
    const char *p = frame_take(b, sizeof(v));
    if (p != NULL)
        memcpy(&v, p, sizeof(v));
    return v;
}

const char *tide_frame_get_bytes(tide_frame_buf_t *b, size_t *len)
{
    uint32_t n = tide_frame_get_u32(b);
    const char *p = frame_take(b, n);
    *len = p ? n : 0;
    return p;
}

const char *tide_frame_get_str(tide_frame_buf_t *b)
{
    size_t n;
    const char *p = tide_frame_get_bytes(b, &n);
    if (p == NULL || n == 0 || p[n - 1] != '\0') {
        b->bad = 1;
        return "";
    }
    return p;
}

void tide_frame_buf_free(tide_frame_buf_t *b)
{
    free(b->p);
    *b = (tide_frame_buf_t){0};
}

static int frame_write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 100);
            continue;
        }
        if (w < 0)
            return -errno;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Append one whole frame to b (for a sender with its own queue). */
void tide_frame_encode(tide_frame_buf_t *b, uint32_t type, const void *p, size_t len)
{
    uint32_t hdr[2] = {type, (uint32_t)len};
    tide_frame_put_raw(b, hdr, sizeof(hdr));
    tide_frame_put_raw(b, p, len);
    tide_frame_put_raw(b, "\n", 1);
}

/* A peer that is gone (EPIPE) is noticed by the reader side: not logged. */
int tide_frame_send(int fd, uint32_t type, const void *p, size_t len)
{
    uint32_t hdr[2] = {type, (uint32_t)len};
    struct iovec iov[3] = {{hdr, sizeof(hdr)}, {(void *)p, len}, {"\n", 1}};
    if (len == 0)
        iov[1] = iov[2];
    pthread_mutex_lock(&frame_send_lock);
    int ret = frame_write_all(fd, iov, len ? 3 : 2);
    pthread_mutex_unlock(&frame_send_lock);
    return ret;
}

int tide_frame_read(int fd, tide_frame_buf_t *in)
{
    if (in->off > 0) { /* drop consumed frames */
        memmove(in->p, in->p + in->off, in->len - in->off);
        in->len -= in->off;
        in->off = 0;
    }
    if (frame_reserve(in, 65536) < 0) {
        tide_error("out of memory reading frames (%zu bytes buffered)", in->len);
        return -ENOMEM;
    }
    ssize_t r = read(fd, in->p + in->len, in->cap - in->len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (r < 0) {
        int err = errno;
        tide_error("reading frames from the other side: %s", strerror(err));
        return -err;
    }
    in->len += (size_t)r;
    return r > 0;
}

int tide_frame_next(tide_frame_buf_t *in, uint32_t *type, tide_frame_buf_t *out)
{
    uint32_t hdr[2];
    if (in->len - in->off < FRAME_HDR)
        return 0;
    memcpy(hdr, in->p + in->off, sizeof(hdr));
    if (hdr[1] > FRAME_MAX) {
        tide_error("bad frame from the other side (type %u, length %u): protocol mismatch?", hdr[0],
                   hdr[1]);
        return -EPROTO;
    }
    if (in->len - in->off < FRAME_HDR + hdr[1] + 1)
        return 0;
    if (in->p[in->off + FRAME_HDR + hdr[1]] != '\n') {
        tide_error("bad frame end from the other side (type %u): protocol mismatch?", hdr[0]);
        return -EPROTO;
    }
    *type = hdr[0];
    *out = (tide_frame_buf_t){.p = in->p + in->off + FRAME_HDR, .len = hdr[1], .cap = hdr[1]};
    in->off += FRAME_HDR + hdr[1] + 1;
    return 1;
}

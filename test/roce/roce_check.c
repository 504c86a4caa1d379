/* roce_check: checks of the roce wire that the generic conformance tool
 * does not make, run on one RDMA device (inside the soft-RoCE guest):
 *   - the max payload is the port's path MTU and a peer with a smaller MTU
 *     (TIDE_ROCE_MTU) clamps frames to it (-EMSGSIZE above, intact at it);
 *   - a frame from a source not yet added is reported as
 *     TIDE_WIRE_PEER_UNKNOWN and frame_src rebuilds the sender's exact blob;
 *   - the completion channel fd polls readable when a frame arrives after
 *     an empty recv_burst (blocking wait), and not before;
 *   - many more sends than the send queue holds (slot reuse under selective
 *     signalling), inline and copied frames, gathered from several iovecs.
 * Output is TAP-like; exit 0 if all passed. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/param.h"
#include "wire/wire.h"

static int failed, run;

static void report(int ok, const char *name)
{
    run++;
    failed += !ok;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", run, name);
}

static tide_wire_t *open_roce(const char *mtu)
{
    tide_wire_t *w = NULL;
    tide_wire_config_t c = {.kind = "roce", .local_rank = -1, .faults = ""};
    setenv("TIDE_ROCE_MTU", mtu, 1);
    tide_param_reset_all();
    if (tide_wire_open(&c, &w)) {
        fprintf(stderr, "roce_check: cannot open a roce endpoint\n");
        exit(2);
    }
    return w;
}

static int send1(tide_wire_t *w, uint32_t peer, const void *p, size_t len)
{
    tide_wire_tx_t tx = {.peer = peer, .iovcnt = 1};
    tx.iov[0] = (struct iovec){(void *)p, len};
    for (int i = 0; i < 100000; i++) {
        int rc = tide_wire_send_burst(w, &tx, 1);
        if (rc)
            return rc;
    }
    return -EAGAIN;
}

/* Wait up to ms for one frame; copies its length and peer.  1 if got. */
static int recv1(tide_wire_t *w, tide_wire_frame_t *f, int ms)
{
    uint64_t end = tide_time_ns() + (uint64_t)ms * 1000000;
    do {
        if (tide_wire_recv_burst(w, f, 1) == 1)
            return 1;
    } while (tide_time_ns() < end);
    return 0;
}

static int t_mtu(tide_wire_t *big, tide_wire_t *small)
{
    static uint8_t buf[4096];
    uint32_t to_small, to_big;
    tide_wire_frame_t f;
    int ok = small->max_payload == 512 && big->max_payload > 512 &&
             tide_wire_peer_add(big, &small->addr, &to_small) == 0 &&
             tide_wire_peer_add(small, &big->addr, &to_big) == 0;
    printf("# path MTU %u, capped endpoint %u\n", big->max_payload, small->max_payload);
    ok = ok && send1(big, to_small, buf, 513) == -EMSGSIZE;
    memset(buf, 0x5a, 512);
    ok = ok && send1(big, to_small, buf, 512) == 1 && recv1(small, &f, 2000) && f.len == 512 &&
         f.data[511] == 0x5a && f.peer == to_big;
    if (ok)
        tide_wire_recv_release(small, &f, 1);
    ok = ok && send1(small, to_big, buf, 512) == 1 && recv1(big, &f, 2000) && f.len == 512 &&
         f.peer == to_small;
    if (ok)
        tide_wire_recv_release(big, &f, 1);
    return ok;
}

static int t_unknown(tide_wire_t *a, tide_wire_t *b)
{
    uint32_t a_to_b, back;
    tide_wire_frame_t f;
    tide_wire_addr_t src;
    int ok = tide_wire_peer_add(a, &b->addr, &a_to_b) == 0 && send1(a, a_to_b, "hello", 5) == 1 &&
             recv1(b, &f, 2000) && f.len == 5 && !memcmp(f.data, "hello", 5) &&
             f.peer == TIDE_WIRE_PEER_UNKNOWN && tide_wire_frame_src(b, &f, &src) == 0 &&
             src.len == a->addr.len && !memcmp(src.bytes, a->addr.bytes, src.len);
    if (ok)
        tide_wire_recv_release(b, &f, 1);
    /* replying to the rebuilt blob reaches a, which knows b */
    ok = ok && tide_wire_peer_add(b, &src, &back) == 0 && send1(b, back, "world", 5) == 1 &&
         recv1(a, &f, 2000) && f.peer == a_to_b && f.len == 5;
    if (ok)
        tide_wire_recv_release(a, &f, 1);
    return ok;
}

static int t_fd(tide_wire_t *a, tide_wire_t *b)
{
    uint32_t peer;
    tide_wire_frame_t f;
    struct pollfd p = {.fd = tide_wire_get_fd(b), .events = POLLIN};
    while (tide_wire_recv_burst(b, &f, 1) == 1)
        tide_wire_recv_release(b, &f, 1);
    int quiet = poll(&p, 1, 50) == 0;
    int ok = tide_wire_peer_add(a, &b->addr, &peer) == 0 && send1(a, peer, "wake", 4) == 1;
    int woke = ok && poll(&p, 1, 2000) == 1;
    ok = ok && woke && recv1(b, &f, 100);
    if (ok)
        tide_wire_recv_release(b, &f, 1);
    printf("# fd quiet while idle: %d, readable on arrival: %d\n", quiet, woke);
    return ok && quiet;
}

/* 5120 frames (4 pieces each, small and large) in bursts of 32, echoed by
 * nobody: b receives them between bursts. */
static int t_many(tide_wire_t *a, tide_wire_t *b)
{
    static uint8_t body[1024];
    uint32_t peer, got = 0, bad = 0, sent = 0, max = a->max_payload;
    tide_wire_frame_t f[64];
    if (tide_wire_peer_add(a, &b->addr, &peer))
        return 0;
    for (uint32_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 7);
    for (uint32_t round = 0; round < 160; round++) {
        tide_wire_tx_t tx[32];
        uint32_t seq[32];
        for (int i = 0; i < 32; i++) {
            uint32_t len = 16 + ((round * 32 + (uint32_t)i) * 131) % (max - 16);
            seq[i] = round * 32 + (uint32_t)i;
            tx[i] = (tide_wire_tx_t){.peer = peer, .iovcnt = 4};
            tx[i].iov[0] = (struct iovec){&seq[i], 4};
            tx[i].iov[1] = (struct iovec){body, 2};
            tx[i].iov[2] = (struct iovec){body + 2, len / 2 - 6};
            tx[i].iov[3] = (struct iovec){body + len / 2 - 4, len - len / 2};
        }
        for (int done = 0; done < 32;) {
            int rc = tide_wire_send_burst(a, tx + done, 32 - done);
            if (rc < 0)
                return 0;
            done += rc;
        }
        sent += 32;
        while (got + bad < sent) {
            int n = tide_wire_recv_burst(b, f, 64);
            if (n < 0)
                return 0;
            if (n == 0 && !recv1(b, f, 1000))
                break;
            if (n == 0)
                n = 1;
            for (int k = 0; k < n; k++) {
                uint32_t s;
                memcpy(&s, f[k].data, 4);
                uint32_t len = 16 + (s * 131) % (max - 16);
                if (f[k].len == len && !memcmp(f[k].data + 4, body, len - 4))
                    got++;
                else
                    bad++;
            }
            tide_wire_recv_release(b, f, n);
        }
    }
    printf("# %u frames sent, %u intact, %u damaged\n", sent, got, bad);
    return got == sent && bad == 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    tide_wire_t *a = open_roce("0"), *b = open_roce("0"), *s = open_roce("512");
    report(t_mtu(a, s), "a peer with a smaller MTU clamps frames to it");
    report(t_unknown(a, b), "unknown source: PEER_UNKNOWN and its exact blob");
    report(t_fd(b, a), "completion channel fd wakes a blocked waiter");
    report(t_many(a, b), "5120 gathered frames through a 256-deep send queue");
    tide_wire_close(s);
    tide_wire_close(b);
    tide_wire_close(a);
    printf("1..%d\n", run);
    return failed ? 1 : 0;
}

/* Check suites of the stream engine over the sim wire and a fake clock:
 * handshakes, crafted segments (RFC 5961, PAWS, keys, CRC), transfers under
 * seeded loss/duplication/reordering/corruption compared byte for byte,
 * sequence wrap, zero window and probes, RTO backoff and give-up,
 * keepalive, SACK recovery of several holes, the backlog with a second
 * thread, receive flags, shutdown, EPIPE, zero-copy and posted buffers. */
#include "config.h"
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness_t H;

static void setup(void)
{
    harness_init(&H, 1, NULL, NULL);
}
static void teardown(void)
{
    harness_fini(&H);
}

/* ---- transfer helper ---- */

typedef struct xfer {
    harness_t *h;
    tide_stream_t *tx, *rx;
    const uint8_t *src;
    uint8_t *dst;
    size_t len, sent, got;
    int shut_done, eof;
} xfer_t;

static int xfer_step(void *arg)
{
    xfer_t *x = arg;
    if (x->sent < x->len) {
        ssize_t n =
            tide_stream_send(x->tx, x->src + x->sent, x->len - x->sent, TIDE_STREAM_DONTWAIT);
        if (n > 0)
            x->sent += (size_t)n;
        else
            ck_assert_int_eq(n, -EAGAIN);
    } else if (!x->shut_done) {
        ck_assert_int_eq(tide_stream_shutdown(x->tx, TIDE_STREAM_SHUT_WR), 0);
        x->shut_done = 1;
    }
    for (;;) {
        size_t room = x->len + 1 - x->got;
        ssize_t n = tide_stream_recv(x->rx, x->dst + x->got, room > 65536 ? 65536 : room,
                                     TIDE_STREAM_DONTWAIT);
        if (n > 0) {
            x->got += (size_t)n;
            continue;
        }
        if (n == 0)
            x->eof = 1;
        else
            ck_assert_int_eq(n, -EAGAIN);
        break;
    }
    return x->eof;
}

static void fill_random(uint8_t *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* Move len bytes a->b over a fresh connection and compare. */
static void transfer_check(harness_t *h, size_t len, unsigned seed, uint64_t max_ns)
{
    tide_stream_t *ca, *cb;
    harness_connect(h, 5000, &ca, &cb);
    uint8_t *src = malloc(len + 1), *dst = malloc(len + 1);
    fill_random(src, len, seed);
    xfer_t x = {h, ca, cb, src, dst, len, 0, 0, 0, 0};
    int rc = harness_run(h, xfer_step, &x, max_ns);
    if (rc != 0 || x.got != len || memcmp(src, dst, len) != 0) {
        tide_stream_info_t ia, ib;
        tide_stream_get_info(ca, &ia);
        tide_stream_get_info(cb, &ib);
        fprintf(stderr, "seed %u len %zu: rc %d sent %zu got %zu state %s/%s cwnd %u flight %u\n",
                seed, len, rc, x.sent, x.got, tide_stream_state_name(ia.state),
                tide_stream_state_name(ib.state), ia.cwnd, ia.flight);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(x.got, len);
    ck_assert(memcmp(src, dst, len) == 0);
    tide_stream_close(ca);
    tide_stream_close(cb);
    free(src);
    free(dst);
}

/* ---- handshake ---- */

START_TEST(handshake_basic)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 80, &ca, &cb);
    ck_assert_uint_eq(hs(H.a)->active_opens, 1);
    ck_assert_uint_eq(hs(H.b)->passive_opens, 1);
    ck_assert_uint_eq(hs(H.a)->established, 1);
    ck_assert_uint_eq(hs(H.b)->established, 1);
    /* SYN, SYN-ACK, ACK */
    ck_assert_int_eq(harness_count(&H, 1, 0xff, TIDE_SEG_SYN, 0), 1);
    ck_assert_int_eq(harness_count(&H, 0, 0xff, TIDE_SEG_SYN | TIDE_SEG_ACK, 0), 1);
    ck_assert_uint_eq(H.cap[0].seg.key, 0x7469);
    ck_assert_uint_eq(H.cap[0].seg.mss, 1500 - TIDE_SEG_HDR_MAX);
    tide_stream_info_t i;
    tide_stream_get_info(ca, &i);
    ck_assert_int_eq(i.state, TIDE_STREAM_ESTABLISHED);
    ck_assert_uint_gt(i.srtt_us, 0);
    ck_assert_int_eq(tide_stream_send(ca, "hello", 5, 0), 5);
    char buf[16];
    ck_assert_int_eq(tide_stream_recv(cb, buf, sizeof(buf), 0), 5);
    ck_assert(memcmp(buf, "hello", 5) == 0);
    tide_stream_close(ca);
    tide_stream_close(cb);
    harness_run_for(&H, 1000000000ull);
    ck_assert_int_eq(tide_stream_stack_nconns(H.a), 0);
    ck_assert_int_eq(tide_stream_stack_nconns(H.b), 0);
}
END_TEST

static int drop_first_syn(harness_t *h, const h_cap_t *c)
{
    int *n = h->drop_arg;
    if (c->ok && (c->seg.flags & TIDE_SEG_SYN) && !(c->seg.flags & TIDE_SEG_ACK) && (*n)-- > 0)
        return 1;
    return 0;
}

static int drop_first_synack(harness_t *h, const h_cap_t *c)
{
    int *n = h->drop_arg;
    if (c->ok && (c->seg.flags & (TIDE_SEG_SYN | TIDE_SEG_ACK)) == (TIDE_SEG_SYN | TIDE_SEG_ACK) &&
        (*n)-- > 0)
        return 1;
    return 0;
}

START_TEST(handshake_lost_syn)
{
    int n = 2;
    H.drop = drop_first_syn;
    H.drop_arg = &n;
    tide_stream_t *ca, *cb;
    harness_connect(&H, 81, &ca, &cb);
    ck_assert_uint_eq(hs(H.a)->syn_retrans, 2);
    ck_assert_int_eq(harness_count(&H, 1, 0xff, TIDE_SEG_SYN, 0), 3);
    /* backoff: second retransmission twice as late as the first */
    uint64_t t[3];
    int k = 0;
    for (int i = 0; i < H.ncap && k < 3; i++)
        if (H.cap[i].src == H.ea && H.cap[i].seg.flags == TIDE_SEG_SYN)
            t[k++] = H.cap[i].t;
    ck_assert_uint_eq((t[2] - t[1]) / 1000, 2 * (t[1] - t[0]) / 1000);
}
END_TEST

START_TEST(handshake_lost_synack)
{
    int n = 1;
    H.drop = drop_first_synack;
    H.drop_arg = &n;
    tide_stream_t *ca, *cb;
    harness_connect(&H, 82, &ca, &cb);
    ck_assert_uint_ge(hs(H.a)->syn_retrans + hs(H.b)->syn_retrans, 1);
    /* the SYN-ACK echoes the retransmitted SYN: no 100 ms RTT sample */
    tide_stream_info_t in;
    tide_stream_get_info(ca, &in);
    ck_assert_uint_lt(in.srtt_us, 1000);
    ck_assert_int_eq(tide_stream_send(cb, "x", 1, 0), 1);
    char c;
    ck_assert_int_eq(tide_stream_recv(ca, &c, 1, 0), 1);
}
END_TEST

typedef struct {
    tide_stream_t *x, *y;
} pair_t;

static int both_established(void *arg)
{
    pair_t *p = arg;
    int64_t a, b;
    tide_stream_getopt(p->x, TIDE_SO_STATE, &a);
    tide_stream_getopt(p->y, TIDE_SO_STATE, &b);
    return a == TIDE_STREAM_ESTABLISHED && b == TIDE_STREAM_ESTABLISHED;
}

START_TEST(handshake_simultaneous)
{
    pair_t p;
    ck_assert_int_eq(tide_stream_open(H.a, &p.x), 0);
    ck_assert_int_eq(tide_stream_open(H.b, &p.y), 0);
    ck_assert_int_eq(tide_stream_bind(p.x, 7000), 0);
    ck_assert_int_eq(tide_stream_bind(p.y, 7001), 0);
    ck_assert_int_eq(tide_stream_connect(p.x, &H.wb->addr, 7001, TIDE_STREAM_DONTWAIT),
                     -EINPROGRESS);
    ck_assert_int_eq(tide_stream_connect(p.y, &H.wa->addr, 7000, TIDE_STREAM_DONTWAIT),
                     -EINPROGRESS);
    ck_assert_int_eq(harness_run(&H, both_established, &p, 1000000000ull), 0);
    ck_assert_int_eq(harness_count(&H, 1, 0xff, TIDE_SEG_SYN, 0), 1);
    ck_assert_int_ge(harness_count(&H, 1, 0xff, TIDE_SEG_SYN | TIDE_SEG_ACK, 0), 1);
    ck_assert_int_eq(tide_stream_send(p.x, "ab", 2, 0), 2);
    char buf[2];
    ck_assert_int_eq(tide_stream_recv(p.y, buf, 2, TIDE_STREAM_WAITALL), 2);
}
END_TEST

START_TEST(handshake_refused)
{
    tide_stream_t *ca;
    ck_assert_int_eq(tide_stream_open(H.a, &ca), 0);
    ck_assert_int_eq(tide_stream_connect(ca, &H.wb->addr, 9, 0), -ECONNREFUSED);
    ck_assert_uint_eq(hs(H.a)->attempt_fails, 1);
    ck_assert_uint_eq(hs(H.b)->no_conn_drops, 1);
    ck_assert_uint_eq(hs(H.b)->rst_out, 1);
}
END_TEST

START_TEST(handshake_syn_timeout)
{
    H.drop_all = 1;
    tide_stream_t *ca;
    ck_assert_int_eq(tide_stream_open(H.a, &ca), 0);
    ck_assert_int_eq(tide_stream_connect(ca, &H.wb->addr, 9, 0), -ETIMEDOUT);
    ck_assert_uint_eq(hs(H.a)->syn_retrans, 8);
}
END_TEST

/* ---- transfers ---- */

START_TEST(transfer_clean)
{
    transfer_check(&H, 3 * 1024 * 1024 + 17, 1, 10000000000ull);
    ck_assert_uint_eq(hs(H.a)->retrans_segs, 0);
    ck_assert_uint_eq(hs(H.a)->rto_fires, 0);
}
END_TEST

static const char *fault_sets[] = {
    "drop=0.05",
    "dup=0.05",
    "reorder=0.2,jitter=50us",
    "corrupt=0.03",
    "drop=0.02,reorder=0.05,dup=0.01,corrupt=0.001",
    "drop=0.1,reorder=0.1,dup=0.05,corrupt=0.02,jitter=200us",
};

START_TEST(transfer_faults)
{
    /* _i: seed; fault set and size vary with it. */
    harness_t *h = malloc(sizeof(*h));
    char spec[160];
    const char *f = fault_sets[_i % 6];
    snprintf(spec, sizeof(spec), "%s,seed=%d", f, _i + 1);
    harness_init(h, (uint64_t)_i + 11, spec, _i % 2 ? "cubic" : "newreno");
    static const size_t sizes[] = {1, 1000, 1460, 65536, 200000, 777777};
    size_t len = sizes[_i % 6] + (size_t)(_i * 37 % 101);
    transfer_check(h, len, (unsigned)_i, 200000000000ull);
    if (_i % 6 == 5) /* corrupt=0.02 over hundreds of frames */
        ck_assert_uint_gt(hs(h->a)->crc_errors + hs(h->b)->crc_errors + hs(h->a)->malformed +
                              hs(h->b)->malformed,
                          0);
    if (strstr(f, "drop") && len > 100000)
        ck_assert_uint_gt(hs(h->a)->retrans_segs, 0);
    harness_fini(h);
    free(h);
}
END_TEST

START_TEST(transfer_seq_wrap)
{
    H.a->isn_next = 0xfffff000u;
    H.b->isn_next = 0xffffff00u;
    transfer_check(&H, 400000, 3, 10000000000ull);
}
END_TEST

START_TEST(transfer_seq_wrap_lossy)
{
    harness_t *h = malloc(sizeof(*h));
    harness_init(h, 5, "drop=0.03,reorder=0.05,seed=5", NULL);
    h->a->isn_next = 0xffff0000u;
    transfer_check(h, 300000, 5, 100000000000ull);
    harness_fini(h);
    free(h);
}
END_TEST

/* ---- crafted segments ---- */

/* A segment from a's stream ca to cb with the right ports, seq and ack. */
static tide_seg_t craft(tide_stream_t *from, uint8_t flags)
{
    tide_seg_t s;
    memset(&s, 0, sizeof(s));
    s.flags = flags;
    s.sport = from->lport;
    s.dport = from->rport;
    s.key = from->st->key;
    s.seq = from->snd_nxt;
    s.ack = from->rcv_nxt;
    s.wnd = 1000;
    s.tsval = (uint32_t)(H.fc.now / 1000);
    s.tsecr = from->ts_recent;
    return s;
}

START_TEST(rfc5961_rst_in_window_challenge)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 90, &ca, &cb);
    int first = H.ncap;
    tide_seg_t s = craft(ca, TIDE_SEG_RST);
    s.seq += 100; /* in window, not exact */
    harness_inject(&H, 1, &s, NULL);
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->challenge_acks, 1);
    ck_assert_uint_eq(hs(H.b)->rst_out_of_window, 1);
    ck_assert_int_eq(harness_count(&H, 0, 0xff, TIDE_SEG_ACK, first), 1);
    int64_t st;
    tide_stream_getopt(cb, TIDE_SO_STATE, &st);
    ck_assert_int_eq(st, TIDE_STREAM_ESTABLISHED);
    /* far out of window: dropped silently */
    s.seq += 0x40000000u;
    harness_inject(&H, 1, &s, NULL);
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->challenge_acks, 1);
    ck_assert_uint_eq(hs(H.b)->rst_out_of_window, 2);
    /* exact: reset */
    s = craft(ca, TIDE_SEG_RST);
    harness_inject(&H, 1, &s, NULL);
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->rst_in, 1);
    ck_assert_uint_eq(hs(H.b)->conn_resets, 1);
    char c;
    ck_assert_int_eq(tide_stream_recv(cb, &c, 1, 0), -ECONNRESET);
    ck_assert_int_eq(tide_stream_send(cb, &c, 1, 0), -EPIPE); /* reported once */
    ck_assert_int_eq(tide_stream_recv(cb, &c, 1, 0), 0);
}
END_TEST

START_TEST(rfc5961_syn_challenge)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 91, &ca, &cb);
    tide_seg_t s = craft(ca, TIDE_SEG_SYN);
    s.seq = 12345;
    harness_inject(&H, 1, &s, NULL);
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->syn_in_window + hs(H.b)->out_of_window, 1);
    ck_assert_uint_eq(hs(H.b)->challenge_acks + hs(H.b)->out_of_window, 1);
    int64_t st;
    tide_stream_getopt(cb, TIDE_SO_STATE, &st);
    ck_assert_int_eq(st, TIDE_STREAM_ESTABLISHED);
    s = craft(ca, TIDE_SEG_SYN); /* in window */
    harness_inject(&H, 1, &s, NULL);
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->syn_in_window, 1);
    ck_assert_uint_ge(hs(H.b)->challenge_acks, 1);
}
END_TEST

START_TEST(rfc5961_ack_checks)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 92, &ca, &cb);
    tide_seg_t s = craft(ca, TIDE_SEG_ACK);
    s.ack = cb->snd_max + 5000; /* acknowledges unsent data */
    harness_inject(&H, 1, &s, NULL);
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->ack_unsent, 1);
    s = craft(ca, TIDE_SEG_ACK);
    s.ack = cb->snd_una - 0x20000000u;
    harness_inject(&H, 1, &s, NULL);
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->ack_too_old, 1);
    ck_assert_int_eq(tide_stream_send(ca, "ok", 2, 0), 2);
    char b[2];
    ck_assert_int_eq(tide_stream_recv(cb, b, 2, TIDE_STREAM_WAITALL), 2);
}
END_TEST

START_TEST(drops_key_crc_malformed_window)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 93, &ca, &cb);
    tide_seg_t s = craft(ca, TIDE_SEG_ACK);
    s.len = 4;
    s.key = 0xdead;
    harness_inject(&H, 1, &s, "abcd");
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->key_drops, 1);
    /* bad CRC */
    uint8_t buf[128];
    s = craft(ca, TIDE_SEG_ACK);
    s.len = 4;
    struct iovec iov = {"abcd", 4};
    size_t hl = tide_seg_write_hdr(&s, buf, &iov, 1);
    memcpy(buf + hl, "abce", 4);
    ck_assert_int_eq(tide_sim_net_inject(H.net, H.ea, H.eb, buf, (uint32_t)hl + 4), 0);
    /* truncated, bad version, bad header length */
    ck_assert_int_eq(tide_sim_net_inject(H.net, H.ea, H.eb, buf, 20), 0);
    memcpy(buf + hl, "abcd", 4);
    buf[0] = 0x99;
    ck_assert_int_eq(tide_sim_net_inject(H.net, H.ea, H.eb, buf, (uint32_t)hl + 4), 0);
    buf[0] = TIDE_SEG_VERSION;
    buf[2] = 3;
    ck_assert_int_eq(tide_sim_net_inject(H.net, H.ea, H.eb, buf, (uint32_t)hl + 4), 0);
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->crc_errors, 1);
    ck_assert_uint_eq(hs(H.b)->malformed, 3);
    /* data far beyond the window: ACKed and dropped */
    s = craft(ca, TIDE_SEG_ACK);
    s.seq += 0x10000000u;
    s.len = 4;
    harness_inject(&H, 1, &s, "abcd");
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->out_of_window, 1);
    char c;
    ck_assert_int_eq(tide_stream_recv(cb, &c, 1, TIDE_STREAM_DONTWAIT), -EAGAIN);
    /* PAWS: an old timestamp */
    s = craft(ca, TIDE_SEG_ACK);
    s.tsval = cb->ts_recent - 100000000u;
    s.len = 4;
    harness_inject(&H, 1, &s, "abcd");
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->paws_drops, 1);
    ck_assert_int_eq(tide_stream_recv(cb, &c, 1, TIDE_STREAM_DONTWAIT), -EAGAIN);
    /* a valid crafted data segment is delivered */
    s = craft(ca, TIDE_SEG_ACK | TIDE_SEG_PSH);
    s.len = 4;
    harness_inject(&H, 1, &s, "wxyz");
    harness_run_for(&H, 100000);
    char b4[4];
    ck_assert_int_eq(tide_stream_recv(cb, b4, 4, TIDE_STREAM_DONTWAIT), 4);
    ck_assert(memcmp(b4, "wxyz", 4) == 0);
}
END_TEST

/* A SYN or ACK from a peer that exists only in this test (sim endpoint 999,
 * port sport) to b's listener. */
static void inject_from_ghost(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                              uint32_t ack)
{
    tide_seg_t s;
    memset(&s, 0, sizeof(s));
    s.flags = flags;
    s.sport = sport;
    s.dport = dport;
    s.key = H.b->key;
    s.seq = seq;
    s.ack = ack;
    s.wnd = 65535;
    s.mss = 1400;
    s.tsval = (uint32_t)(H.fc.now / 1000);
    uint8_t buf[128];
    size_t hl = tide_seg_write_hdr(&s, buf, NULL, 0);
    ck_assert_int_eq(tide_sim_net_inject(H.net, 999, H.eb, buf, (uint32_t)hl), 0);
    harness_run_for(&H, 50000);
}

/* The ISN of the last SYN-ACK b sent to port dport. */
static uint32_t last_synack_iss(uint16_t dport)
{
    for (int i = H.ncap - 1; i >= 0; i--)
        if (H.cap[i].ok && H.cap[i].src == H.eb && H.cap[i].seg.dport == dport &&
            H.cap[i].seg.flags == (TIDE_SEG_SYN | TIDE_SEG_ACK))
            return H.cap[i].seg.seq;
    ck_abort_msg("no SYN-ACK to port %u", dport);
    return 0;
}

START_TEST(listen_queue_overflows)
{
    tide_stream_t *ls, *c1, *c2;
    ck_assert_int_eq(tide_stream_open(H.b, &ls), 0);
    ck_assert_int_eq(tide_stream_listen(ls, 300, 1), 0);
    inject_from_ghost(1000, 300, TIDE_SEG_SYN, 5000, 0);
    uint32_t iss1 = last_synack_iss(1000);
    /* the captured SYN-ACK answers the SYN exactly */
    ck_assert_uint_eq(H.cap[H.ncap - 1].seg.ack, 5001);
    ck_assert_uint_eq(H.cap[H.ncap - 1].seg.mss, 1500 - TIDE_SEG_HDR_MAX);
    inject_from_ghost(1001, 300, TIDE_SEG_SYN, 7000, 0); /* SYN queue full */
    ck_assert_uint_eq(hs(H.b)->synq_overflows, 1);
    inject_from_ghost(1000, 300, TIDE_SEG_ACK, 5001, iss1 + 1);
    inject_from_ghost(1002, 300, TIDE_SEG_SYN, 9000, 0);
    uint32_t iss3 = last_synack_iss(1002);
    inject_from_ghost(1002, 300, TIDE_SEG_ACK, 9001, iss3 + 1); /* accept queue full */
    ck_assert_uint_eq(hs(H.b)->accept_overflows, 1);
    ck_assert_int_eq(tide_stream_accept(ls, &c1, TIDE_STREAM_DONTWAIT), 0);
    ck_assert_uint_eq(c1->rport, 1000);
    ck_assert_int_eq(tide_stream_accept(ls, &c2, TIDE_STREAM_DONTWAIT), -EAGAIN);
    /* the dropped ACK comes again (after the SYN-ACK retransmission) */
    inject_from_ghost(1002, 300, TIDE_SEG_ACK, 9001, iss3 + 1);
    ck_assert_int_eq(tide_stream_accept(ls, &c2, TIDE_STREAM_DONTWAIT), 0);
    ck_assert_uint_eq(c2->rport, 1002);
    ck_assert_uint_eq(hs(H.b)->passive_opens, 2);
    /* an ACK for no connection is answered with RST (seq = its ack) */
    inject_from_ghost(1003, 300, TIDE_SEG_ACK, 1, 4242);
    ck_assert_uint_eq(H.cap[H.ncap - 1].seg.flags, TIDE_SEG_RST);
    ck_assert_uint_eq(H.cap[H.ncap - 1].seg.seq, 4242);
    tide_stream_close(ls);
}
END_TEST

/* ---- timers ---- */

START_TEST(rto_backoff_giveup)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 94, &ca, &cb);
    H.drop_all = 1;
    int first = H.ncap;
    ck_assert_int_eq(tide_stream_send(ca, "data", 4, 0), 4);
    char c;
    ck_assert_int_eq(tide_stream_recv(ca, &c, 1, 0), -ETIMEDOUT);
    ck_assert_uint_eq(hs(H.a)->rto_fires, 16);
    ck_assert_uint_eq(hs(H.a)->rto_timeouts, 1);
    /* the gaps between retransmissions double up to the 2 s bound */
    uint64_t prev = 0, gap = 0;
    int k = 0;
    for (int i = first; i < H.ncap; i++) {
        if (H.cap[i].src != H.ea || H.cap[i].seg.len != 4)
            continue;
        if (prev && k >= 2) {
            uint64_t g = H.cap[i].t - prev;
            if (gap && gap < 1000000000ull)
                ck_assert_uint_ge(g, 2 * gap - 200000);
            ck_assert_uint_le(g, 2000000000ull + 100000);
            gap = g;
        }
        prev = H.cap[i].t;
        k++;
    }
    ck_assert_int_eq(k, 17); /* original, one tail loss probe, 15 RTO retransmissions */
    ck_assert_uint_eq(hs(H.a)->retrans_tlp, 1);
    ck_assert_int_eq(tide_stream_send(ca, "x", 1, 0), -EPIPE);
}
END_TEST

START_TEST(keepalive_death)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 95, &ca, &cb);
    tide_stream_setopt(ca, TIDE_SO_KEEPIDLE, 50000000);
    tide_stream_setopt(ca, TIDE_SO_KEEPINTVL, 10000000);
    tide_stream_setopt(ca, TIDE_SO_KEEPCNT, 3);
    tide_stream_setopt(ca, TIDE_SO_KEEPALIVE, 1);
    /* alive peer: probes answered, nothing dies */
    harness_run_for(&H, 300000000ull);
    ck_assert_uint_ge(hs(H.a)->keepalive_probes, 1);
    ck_assert_uint_eq(hs(H.a)->keepalive_timeouts, 0);
    uint64_t p0 = hs(H.a)->keepalive_probes;
    H.drop_all = 1;
    char c;
    ck_assert_int_eq(tide_stream_recv(ca, &c, 1, 0), -ETIMEDOUT);
    ck_assert_uint_eq(hs(H.a)->keepalive_timeouts, 1);
    ck_assert_uint_eq(hs(H.a)->keepalive_probes - p0, 3);
}
END_TEST

typedef struct {
    tide_stream_t *rx;
    size_t want, got;
} drain_t;

START_TEST(zero_window_probe)
{
    tide_stream_t *ca, *cb;
    ck_assert_int_eq(tide_stream_stack_nconns(H.a), 0);
    /* small receive buffer on the listener side */
    tide_stream_t *ls;
    ck_assert_int_eq(tide_stream_open(H.b, &ls), 0);
    ck_assert_int_eq(tide_stream_setopt(ls, TIDE_SO_RCVBUF, 8192), 0);
    ck_assert_int_eq(tide_stream_listen(ls, 96, 4), 0);
    ck_assert_int_eq(tide_stream_open(H.a, &ca), 0);
    ck_assert_int_eq(tide_stream_connect(ca, &H.wb->addr, 96, 0), 0);
    ck_assert_int_eq(tide_stream_accept(ls, &cb, 0), 0);
    static uint8_t big[100000];
    fill_random(big, sizeof(big), 9);
    ssize_t n = tide_stream_send(ca, big, sizeof(big), TIDE_STREAM_DONTWAIT);
    ck_assert_int_eq(n, (ssize_t)sizeof(big));
    harness_run_for(&H, 2000000000ull);
    ck_assert_uint_ge(hs(H.a)->window_probes, 3);
    ck_assert_uint_ge(hs(H.b)->zero_window_adv, 3);
    ck_assert_uint_eq(hs(H.a)->probe_timeouts, 0);
    tide_stream_info_t in;
    tide_stream_get_info(ca, &in);
    ck_assert_uint_eq(in.snd_wnd, 0);
    /* reading reopens the window; everything arrives */
    static uint8_t out[100000];
    ck_assert_int_eq(tide_stream_recv(cb, out, sizeof(out), TIDE_STREAM_WAITALL), sizeof(out));
    ck_assert(memcmp(big, out, sizeof(out)) == 0);
    ck_assert_uint_gt(hs(H.b)->window_updates, 0);
}
END_TEST

/* ---- SACK ---- */

static int drop_holes(harness_t *h, const h_cap_t *c)
{
    if (!c->ok || c->src != h->ea || c->seg.len == 0)
        return 0;
    /* first transmissions of data segments 5, 9 and 13 */
    uint64_t k = h->ndata_a;
    int *done = h->drop_arg;
    if ((k == 5 || k == 9 || k == 13) && !(*done & (1 << k % 16))) {
        *done |= 1 << k % 16;
        return 1;
    }
    return 0;
}

START_TEST(sack_multi_hole)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 97, &ca, &cb);
    int done = 0;
    H.drop = drop_holes;
    H.drop_arg = &done;
    H.ndata_a = 0;
    static uint8_t buf[30 * 1428], out[sizeof(buf)];
    fill_random(buf, sizeof(buf), 4);
    ck_assert_int_eq(tide_stream_send(ca, buf, sizeof(buf), 0), sizeof(buf));
    ck_assert_int_eq(tide_stream_recv(cb, out, sizeof(out), TIDE_STREAM_WAITALL), sizeof(out));
    ck_assert(memcmp(buf, out, sizeof(out)) == 0);
    ck_assert_uint_eq(hs(H.a)->rto_fires, 0);
    ck_assert_uint_eq(hs(H.a)->fast_recoveries, 1);
    ck_assert_uint_eq(hs(H.a)->retrans_fast, 3);
    ck_assert_uint_eq(hs(H.a)->retrans_segs, 3);
    ck_assert_uint_gt(hs(H.a)->sack_blocks_in, 0);
    ck_assert_uint_gt(hs(H.b)->ooo_segs, 0);
}
END_TEST

static int drop_tail(harness_t *h, const h_cap_t *c)
{
    int *done = h->drop_arg;
    if (!c->ok || c->src != h->ea || c->seg.len == 0)
        return 0;
    if ((h->ndata_a == 9 || h->ndata_a == 10) && !(*done & (1 << h->ndata_a))) {
        *done |= 1 << h->ndata_a;
        return 1;
    }
    return 0;
}

START_TEST(tail_loss_probe)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 96, &ca, &cb);
    int done = 0;
    H.drop = drop_tail;
    H.drop_arg = &done;
    H.ndata_a = 0;
    static uint8_t buf[10 * 1428], out[sizeof(buf)];
    fill_random(buf, sizeof(buf), 8);
    ck_assert_int_eq(tide_stream_send(ca, buf, sizeof(buf), 0), sizeof(buf));
    ck_assert_int_eq(tide_stream_recv(cb, out, sizeof(out), TIDE_STREAM_WAITALL), sizeof(out));
    ck_assert(memcmp(buf, out, sizeof(out)) == 0);
    ck_assert_int_eq(done, (1 << 9) | (1 << 10));
    ck_assert_uint_eq(hs(H.a)->retrans_tlp, 1);
    ck_assert_uint_eq(hs(H.a)->rto_fires, 0);
    ck_assert_uint_eq(hs(H.a)->retrans_segs, 2);
}
END_TEST

/* 40 minutes without traffic: the microsecond timestamps have wrapped half
 * their range, so PAWS must not reject the next segments. */
START_TEST(long_idle_paws)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 103, &ca, &cb);
    char buf[8];
    ck_assert_int_eq(tide_stream_send(ca, "before", 6, 0), 6);
    ck_assert_int_eq(tide_stream_recv(cb, buf, 6, TIDE_STREAM_WAITALL), 6);
    ck_assert_int_eq(tide_stream_send(cb, "b", 1, 0), 1);
    ck_assert_int_eq(tide_stream_recv(ca, buf, 1, TIDE_STREAM_WAITALL), 1);
    harness_run_for(&H, 10000000);
    H.fc.now += 40ull * 60 * 1000000000ull;
    ck_assert_int_eq(tide_stream_send(ca, "after", 5, 0), 5);
    ck_assert_int_eq(tide_stream_recv(cb, buf, 5, TIDE_STREAM_WAITALL), 5);
    ck_assert(memcmp(buf, "after", 5) == 0);
    ck_assert_int_eq(tide_stream_send(cb, "back", 4, 0), 4);
    ck_assert_int_eq(tide_stream_recv(ca, buf, 4, TIDE_STREAM_WAITALL), 4);
    ck_assert_uint_eq(hs(H.a)->paws_drops + hs(H.b)->paws_drops, 0);
    ck_assert_uint_eq(hs(H.a)->rto_fires, 0);
}
END_TEST

/* ---- receive flags, shutdown, EPIPE ---- */

START_TEST(recv_flags)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 98, &ca, &cb);
    char buf[64];
    ck_assert_int_eq(tide_stream_recv(cb, buf, 10, TIDE_STREAM_DONTWAIT), -EAGAIN);
    ck_assert_int_eq(tide_stream_send(ca, "0123456789", 10, 0), 10);
    ck_assert_int_eq(tide_stream_recv(cb, buf, 4, TIDE_STREAM_PEEK), 4);
    ck_assert(memcmp(buf, "0123", 4) == 0);
    ck_assert_int_eq(tide_stream_recv(cb, buf, 64, TIDE_STREAM_PEEK), 10);
    ck_assert_int_eq(tide_stream_recv(cb, buf, 3, 0), 3);
    ck_assert(memcmp(buf, "012", 3) == 0);
    /* WAITALL waits for more than is there */
    ck_assert_int_eq(tide_stream_send(ca, "abcdef", 6, 0), 6);
    ck_assert_int_eq(tide_stream_recv(cb, buf, 13, TIDE_STREAM_WAITALL), 13);
    ck_assert(memcmp(buf, "3456789abcdef", 13) == 0);
    /* rcvlowat: recv waits for 8 bytes although 5 are there */
    tide_stream_setopt(cb, TIDE_SO_RCVLOWAT, 8);
    ck_assert_int_eq(tide_stream_send(ca, "ABCDE", 5, 0), 5);
    harness_run_for(&H, 1000000);
    tide_stream_pollfd_t pf = {cb, TIDE_POLLIN, 0};
    ck_assert_int_eq(tide_stream_poll(H.b, &pf, 1, 0), 0);
    ck_assert_int_eq(tide_stream_send(ca, "FGHIJ", 5, 0), 5);
    ck_assert_int_eq(tide_stream_recv(cb, buf, 64, 0), 10);
    ck_assert(memcmp(buf, "ABCDEFGHIJ", 10) == 0);
    /* receive timeout */
    tide_stream_setopt(cb, TIDE_SO_RCVTIMEO, 5000000);
    ck_assert_int_eq(tide_stream_recv(cb, buf, 64, 0), -EAGAIN);
}
END_TEST

static int sigpipes;
static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

START_TEST(shutdown_and_epipe)
{
    signal(SIGPIPE, on_sigpipe);
    tide_stream_t *ca, *cb;
    harness_connect(&H, 99, &ca, &cb);
    ck_assert_int_eq(tide_stream_send(ca, "last", 4, 0), 4);
    ck_assert_int_eq(tide_stream_shutdown(ca, TIDE_STREAM_SHUT_WR), 0);
    ck_assert_int_eq(tide_stream_send(ca, "x", 1, 0), -EPIPE);
    char buf[16];
    ck_assert_int_eq(tide_stream_recv(cb, buf, 16, TIDE_STREAM_WAITALL), 4);
    ck_assert_int_eq(tide_stream_recv(cb, buf, 16, 0), 0); /* EOF */
    /* half-closed: b can still send to a */
    ck_assert_int_eq(tide_stream_send(cb, "back", 4, 0), 4);
    ck_assert_int_eq(tide_stream_recv(ca, buf, 4, TIDE_STREAM_WAITALL), 4);
    /* SHUT_RD on a: later data is acknowledged and discarded, counted */
    ck_assert_int_eq(tide_stream_shutdown(ca, TIDE_STREAM_SHUT_RD), 0);
    ck_assert_int_eq(tide_stream_recv(ca, buf, 16, 0), 0);
    ck_assert_int_eq(tide_stream_send(cb, "ignored!", 8, 0), 8);
    harness_run_for(&H, 10000000);
    ck_assert_uint_eq(hs(H.a)->rcv_after_shutdown_bytes, 8);
    tide_stream_info_t ib;
    tide_stream_get_info(cb, &ib);
    ck_assert_uint_eq(ib.flight, 0); /* acknowledged */
    tide_stream_close(cb);
    harness_run_for(&H, 10000000);
    tide_stream_close(ca);
    harness_run_for(&H, 1000000000ull);
    ck_assert_int_eq(tide_stream_stack_nconns(H.a), 0);
    ck_assert_int_eq(tide_stream_stack_nconns(H.b), 0);
    ck_assert_int_eq(sigpipes, 0);
    signal(SIGPIPE, SIG_DFL);
}
END_TEST

START_TEST(close_unread_resets)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 100, &ca, &cb);
    ck_assert_int_eq(tide_stream_send(ca, "unread", 6, 0), 6);
    harness_run_for(&H, 1000000);
    tide_stream_close(cb);
    harness_run_for(&H, 1000000);
    ck_assert_uint_eq(hs(H.b)->rst_on_close, 1);
    char c;
    ck_assert_int_eq(tide_stream_recv(ca, &c, 1, 0), -ECONNRESET);
    tide_stream_close(ca);
}
END_TEST

/* ---- zero-copy and posted buffers ---- */

START_TEST(zerocopy_and_posted)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 101, &ca, &cb);
    static uint8_t src[50000], dst[50000];
    fill_random(src, sizeof(src), 77);
    tide_stream_rxbuf_t rb = {.buf = dst, .len = sizeof(dst)};
    ck_assert_int_eq(tide_stream_post_recv(cb, &rb), 0);
    tide_stream_zc_t zc = {.buf = src, .len = sizeof(src)};
    ck_assert_int_eq(tide_stream_send_zc(ca, &zc), 0);
    ck_assert_int_eq(zc.done, 0);
    ck_assert_int_eq(tide_stream_wait_zc(ca, &zc), 0);
    ck_assert_int_eq(zc.done, 1);
    ck_assert_int_eq(tide_stream_wait_rxbuf(cb, &rb), 0);
    ck_assert_uint_eq(rb.filled, sizeof(dst));
    ck_assert(memcmp(src, dst, sizeof(dst)) == 0);
    ck_assert_uint_eq(hs(H.a)->zc_completed, 1);
    ck_assert_uint_eq(hs(H.b)->rcv_direct_bytes, sizeof(dst)); /* never through the ring */
}
END_TEST

/* ---- backlog with a second thread ---- */

typedef struct {
    harness_t *h;
    volatile int stop;
} bl_thread_t;

static void *bl_progress(void *arg)
{
    bl_thread_t *t = arg;
    while (!t->stop) {
        tide_stream_stack_progress(t->h->b);
        sched_yield();
    }
    return NULL;
}

START_TEST(backlog_second_thread)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 102, &ca, &cb);
    tide_stream_setopt(ca, TIDE_SO_NODELAY, 1);
    cb->bl_max = 4; /* (the array holds more; a small bound shows drops) */
    /* Own cb as a user call would, then let another thread deliver. */
    pthread_mutex_lock(&H.b->lock);
    tide_tcb_lock(cb);
    pthread_mutex_unlock(&H.b->lock);
    bl_thread_t t = {&H, 0};
    pthread_t th;
    pthread_create(&th, NULL, bl_progress, &t);
    static uint8_t src[200 * 1000];
    fill_random(src, sizeof(src), 5);
    ssize_t n = tide_stream_send(ca, src, sizeof(src), TIDE_STREAM_DONTWAIT);
    ck_assert_int_eq(n, sizeof(src));
    /* until the backlog overflowed (bounded in real time: 20 s) */
    for (int i = 0; i < 400000 && __atomic_load_n(&hs(H.b)->backlog_drops, __ATOMIC_RELAXED) == 0;
         i++) {
        tide_stream_stack_progress(H.a);
        if (i % 10 == 0)
            tide_fake_clock_advance(&H.fc, 20000);
        usleep(50);
    }
    t.stop = 1;
    pthread_join(th, NULL);
    ck_assert_uint_gt(hs(H.b)->backlog_queued, 0);
    ck_assert_uint_gt(hs(H.b)->backlog_drops, 0);
    ck_assert_uint_eq(cb->rcv_nxt, cb->irs + 1); /* nothing processed while owned */
    pthread_mutex_lock(&H.b->lock);
    tide_tcb_release(cb);
    pthread_mutex_unlock(&H.b->lock);
    ck_assert_uint_gt(cb->rcv_nxt - cb->irs - 1, 0);
    static uint8_t out[sizeof(src)];
    ck_assert_int_eq(tide_stream_recv(cb, out, sizeof(out), TIDE_STREAM_WAITALL), sizeof(out));
    ck_assert(memcmp(src, out, sizeof(out)) == 0);
    tide_stream_info_t ib;
    tide_stream_get_info(cb, &ib);
    ck_assert_uint_eq(ib.backlog_drops, hs(H.b)->backlog_drops);
}
END_TEST

/* ---- user threads on several streams while another thread progresses ---- */

typedef struct {
    tide_stream_t *s;
    uint8_t *buf;
    size_t len, done;
    int tx;
    volatile int *stop;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    while (w->done < w->len && !*w->stop) {
        size_t chunk = w->len - w->done < 7777 ? w->len - w->done : 7777;
        ssize_t n = w->tx ? tide_stream_send(w->s, w->buf + w->done, chunk, TIDE_STREAM_DONTWAIT)
                          : tide_stream_recv(w->s, w->buf + w->done, chunk, TIDE_STREAM_DONTWAIT);
        if (n > 0)
            w->done += (size_t)n;
        else if (n != -EAGAIN)
            break;
        else
            sched_yield();
    }
    return NULL;
}

static int workers_done(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 6; i++)
        if (w[i].done < w[i].len)
            return 0;
    return 1;
}

START_TEST(threads_many_streams)
{
    enum { NS = 3, LEN = 300000 };
    tide_stream_t *ca[NS], *cb[NS];
    for (int i = 0; i < NS; i++)
        harness_connect(&H, (uint16_t)(400 + i), &ca[i], &cb[i]);
    static uint8_t src[NS][LEN], dst[NS][LEN];
    worker_t w[2 * NS];
    volatile int stop = 0;
    pthread_t th[2 * NS];
    for (int i = 0; i < NS; i++) {
        fill_random(src[i], LEN, (unsigned)(50 + i));
        w[2 * i] = (worker_t){ca[i], src[i], LEN, 0, 1, &stop};
        w[2 * i + 1] = (worker_t){cb[i], dst[i], LEN, 0, 0, &stop};
    }
    for (int i = 0; i < 2 * NS; i++)
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    /* This thread alone drives progress and the clock, in small steps so
     * fake time does not race ahead of workers that wait for a CPU; the
     * bound is real time. */
    int rc = -1;
    uint64_t end = tide_time_ns() + 60000000000ull;
    while (tide_time_ns() < end) {
        if (workers_done(w)) {
            rc = 0;
            break;
        }
        if (tide_stream_stack_progress(H.a) + tide_stream_stack_progress(H.b) == 0) {
            tide_fake_clock_advance(&H.fc, 10000);
            sched_yield();
        }
    }
    stop = 1;
    for (int i = 0; i < 2 * NS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(rc, 0);
    for (int i = 0; i < NS; i++) {
        ck_assert_uint_eq(w[2 * i + 1].done, LEN);
        ck_assert(memcmp(src[i], dst[i], LEN) == 0);
    }
}
END_TEST

/* ---- poll across many streams ---- */

START_TEST(poll_many)
{
    enum { N = 8 };
    tide_stream_t *ca[N], *cb[N];
    for (int i = 0; i < N; i++)
        harness_connect(&H, (uint16_t)(200 + i), &ca[i], &cb[i]);
    ck_assert_int_eq(tide_stream_send(ca[5], "z", 1, 0), 1);
    tide_stream_pollfd_t pf[N];
    for (int i = 0; i < N; i++)
        pf[i] = (tide_stream_pollfd_t){cb[i], TIDE_POLLIN, 0};
    ck_assert_int_eq(tide_stream_poll(H.b, pf, N, 1000000000), 1);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pf[i].revents, i == 5 ? TIDE_POLLIN : 0);
    pf[0].events = TIDE_POLLOUT;
    ck_assert_int_eq(tide_stream_poll(H.b, pf, 1, 0), 1);
    ck_assert_int_eq(pf[0].revents, TIDE_POLLOUT);
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("protocol");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, handshake_basic);
    tcase_add_test(tc, handshake_lost_syn);
    tcase_add_test(tc, handshake_lost_synack);
    tcase_add_test(tc, handshake_simultaneous);
    tcase_add_test(tc, handshake_refused);
    tcase_add_test(tc, handshake_syn_timeout);
    tcase_add_test(tc, transfer_clean);
    tcase_add_test(tc, transfer_seq_wrap);
    tcase_add_test(tc, transfer_seq_wrap_lossy);
    tcase_add_test(tc, rfc5961_rst_in_window_challenge);
    tcase_add_test(tc, rfc5961_syn_challenge);
    tcase_add_test(tc, rfc5961_ack_checks);
    tcase_add_test(tc, drops_key_crc_malformed_window);
    tcase_add_test(tc, listen_queue_overflows);
    tcase_add_test(tc, rto_backoff_giveup);
    tcase_add_test(tc, keepalive_death);
    tcase_add_test(tc, zero_window_probe);
    tcase_add_test(tc, sack_multi_hole);
    tcase_add_test(tc, tail_loss_probe);
    tcase_add_test(tc, long_idle_paws);
    tcase_add_test(tc, recv_flags);
    tcase_add_test(tc, shutdown_and_epipe);
    tcase_add_test(tc, close_unread_resets);
    tcase_add_test(tc, zerocopy_and_posted);
    tcase_add_test(tc, backlog_second_thread);
    tcase_add_test(tc, poll_many);
    tcase_add_test(tc, threads_many_streams);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("faults");
    tcase_set_timeout(tf, 120);
    tcase_add_loop_test(tf, transfer_faults, 0, 240);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    setenv("TIDE_STREAM_STAT_SHM", "0", 1);
    SRunner *sr = srunner_create(stream_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

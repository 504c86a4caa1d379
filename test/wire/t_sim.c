/* Unit tests of the sim wire and the fault-injection wrapper: delivery
 * timing from a fake clock, ordering, max payload, queue overflow, address
 * blobs, the hook and injection, determinism from the seed, and that every
 * injected fault is counted and matches what the receiver sees. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/crc32c.h"
#include "wire/faults.h"
#include "wire/sim.h"

static tide_fake_clock_t fc;
static tide_sim_net_t *net;
static tide_wire_t *a, *b;
static uint32_t a2b, b2a;

static void open_pair(const char *faults)
{
    tide_wire_config_t c = {.kind = "sim", .sim_net = net, .faults = faults};
    ck_assert_int_eq(tide_wire_open(&c, &a), 0);
    ck_assert_int_eq(tide_wire_open(&c, &b), 0);
    ck_assert_int_eq(tide_wire_peer_add(a, &b->addr, &a2b), 0);
    ck_assert_int_eq(tide_wire_peer_add(b, &a->addr, &b2a), 0);
}

static void setup(void)
{
    tide_fake_clock_init(&fc, 1000);
    ck_assert_int_eq(tide_sim_net_create(&fc.base, 42, &net), 0);
    tide_sim_net_set_latency(net, 10000);
}

static void teardown(void)
{
    if (a)
        tide_wire_close(a);
    if (b)
        tide_wire_close(b);
    a = b = NULL;
    tide_sim_net_destroy(net);
}

/* Send one frame whose bytes are a function of (seq, len). */
static int send_seq(tide_wire_t *w, uint32_t peer, uint32_t seq, uint32_t len)
{
    uint8_t buf[9000];
    memcpy(buf, &seq, sizeof(seq));
    for (uint32_t i = 4; i < len; i++)
        buf[i] = (uint8_t)(seq * 7 + i);
    tide_wire_tx_t tx = {.peer = peer, .iovcnt = 1};
    tx.iov[0].iov_base = buf;
    tx.iov[0].iov_len = len;
    return tide_wire_send_burst(w, &tx, 1);
}

static int frame_intact(const tide_wire_frame_t *f)
{
    uint32_t seq;
    memcpy(&seq, f->data, 4);
    for (uint32_t i = 4; i < f->len; i++)
        if (f->data[i] != (uint8_t)(seq * 7 + i))
            return 0;
    return 1;
}

START_TEST(t_latency_and_content)
{
    open_pair("");
    uint8_t p1[3] = {1, 2, 3}, p2[5] = {4, 5, 6, 7, 8};
    tide_wire_tx_t tx = {.peer = a2b, .iovcnt = 2};
    tx.iov[0] = (struct iovec){p1, sizeof(p1)};
    tx.iov[1] = (struct iovec){p2, sizeof(p2)};
    ck_assert_int_eq(tide_wire_send_burst(a, &tx, 1), 1);
    tide_wire_frame_t f[4];
    ck_assert_int_eq(tide_wire_recv_burst(b, f, 4), 0);
    ck_assert_uint_eq(tide_sim_net_next_due(net), 11000);
    fc.now = 10999;
    ck_assert_int_eq(tide_wire_recv_burst(b, f, 4), 0);
    ck_assert_int_eq(tide_sim_net_advance(net, &fc), 1);
    ck_assert_uint_eq(fc.now, 11000);
    ck_assert_int_eq(tide_wire_recv_burst(b, f, 4), 1);
    ck_assert_uint_eq(f[0].len, 8);
    ck_assert_mem_eq(f[0].data, "\1\2\3\4\5\6\7\10", 8);
    ck_assert_uint_eq(f[0].peer, b2a);
    tide_wire_addr_t src;
    ck_assert_int_eq(tide_wire_frame_src(b, &f[0], &src), 0);
    ck_assert_mem_eq(&src, &a->addr, sizeof(src.len) + src.len);
    tide_wire_recv_release(b, f, 1);
    ck_assert_uint_eq(a->stats.tx_frames, 1);
    ck_assert_uint_eq(b->stats.rx_bytes, 8);
    ck_assert_int_eq(tide_sim_net_advance(net, &fc), 0);
    ck_assert_int_eq(tide_wire_get_fd(a), -1);
}
END_TEST

START_TEST(t_unknown_peer_and_addr)
{
    open_pair("");
    tide_wire_config_t c = {.kind = "sim", .sim_net = net, .faults = ""};
    tide_wire_t *x;
    ck_assert_int_eq(tide_wire_open(&c, &x), 0);
    uint32_t x2b;
    ck_assert_int_eq(tide_wire_peer_add(x, &b->addr, &x2b), 0);
    ck_assert_int_eq(send_seq(x, x2b, 5, 100), 1);
    tide_sim_net_advance(net, &fc);
    tide_wire_frame_t f;
    ck_assert_int_eq(tide_wire_recv_burst(b, &f, 1), 1);
    ck_assert_uint_eq(f.peer, TIDE_WIRE_PEER_UNKNOWN);
    tide_wire_addr_t src;
    uint32_t h;
    ck_assert_int_eq(tide_wire_frame_src(b, &f, &src), 0);
    ck_assert_int_eq(tide_wire_peer_add(b, &src, &h), 0);
    ck_assert_uint_ne(h, b2a);
    uint32_t h2;
    ck_assert_int_eq(tide_wire_peer_add(b, &x->addr, &h2), 0);
    ck_assert_uint_eq(h, h2);
    tide_wire_recv_release(b, &f, 1);
    /* a blob of another net or kind is refused */
    tide_sim_net_t *other;
    ck_assert_int_eq(tide_sim_net_create(&fc.base, 1, &other), 0);
    tide_wire_config_t oc = {.kind = "sim", .sim_net = other, .faults = ""};
    tide_wire_t *y;
    ck_assert_int_eq(tide_wire_open(&oc, &y), 0);
    ck_assert_int_eq(tide_wire_peer_add(a, &y->addr, &h), -EINVAL);
    tide_wire_addr_t bad = a->addr;
    bad.bytes[0] = TIDE_WIRE_UDP;
    ck_assert_int_eq(tide_wire_peer_add(b, &bad, &h), -EINVAL);
    char s[64];
    ck_assert_ptr_nonnull(strstr(tide_wire_addr_str(&a->addr, s, sizeof(s)), "sim:net"));
    /* a taken endpoint number */
    oc.endpoint = tide_wire_sim_endpoint(y);
    tide_wire_t *z;
    ck_assert_int_eq(tide_wire_open(&oc, &z), -EADDRINUSE);
    tide_wire_close(y);
    tide_wire_close(x);
    tide_sim_net_destroy(other);
}
END_TEST

START_TEST(t_max_payload)
{
    tide_sim_net_set_max_payload(net, 9000);
    open_pair("");
    ck_assert_uint_eq(a->max_payload, 9000);
    ck_assert_int_eq(send_seq(a, a2b, 1, 9000), 1);
    ck_assert_int_eq(send_seq(a, a2b, 2, 9001 > 9000 ? 9000 : 0), 1);
    uint8_t big[9001] = {0};
    tide_wire_tx_t tx[2] = {{.peer = a2b, .iovcnt = 1}, {.peer = a2b, .iovcnt = 1}};
    tx[0].iov[0] = (struct iovec){big, 10};
    tx[1].iov[0] = (struct iovec){big, 9001};
    ck_assert_int_eq(tide_wire_send_burst(a, &tx[1], 1), -EMSGSIZE);
    ck_assert_int_eq(tide_wire_send_burst(a, tx, 2), 1); /* stops at the bad one */
    tx[0].peer = 77;
    ck_assert_int_eq(tide_wire_send_burst(a, tx, 1), -EINVAL);
    tide_sim_net_advance(net, &fc);
    tide_wire_frame_t f[8];
    ck_assert_int_eq(tide_wire_recv_burst(b, f, 8), 3);
    ck_assert(frame_intact(&f[0]));
    ck_assert_uint_eq(f[0].len, 9000);
    tide_wire_recv_release(b, f, 3);
}
END_TEST

START_TEST(t_order_rate_and_queue)
{
    open_pair("");
    tide_sim_net_set_rate(net, 1000000000); /* 1 GB/s: 1000 bytes = 1 us */
    tide_sim_net_set_queue_len(net, 100);
    for (uint32_t i = 0; i < 150; i++)
        ck_assert_int_eq(send_seq(a, a2b, i, 1000), 1);
    ck_assert_uint_eq(b->stats.rx_dropped_kernel, 50);
    ck_assert_uint_eq(tide_sim_net_pending(net), 100);
    ck_assert_uint_eq(tide_sim_net_next_due(net), 1000 + 1000 + 10000);
    fc.now = 1000 + 10 * 1000 + 10000; /* the first ten have arrived */
    tide_wire_frame_t f[64];
    ck_assert_int_eq(tide_wire_recv_burst(b, f, 64), 10);
    for (int i = 0; i < 10; i++) {
        uint32_t seq;
        memcpy(&seq, f[i].data, 4);
        ck_assert_uint_eq(seq, (uint32_t)i);
    }
    tide_wire_recv_release(b, f, 10);
    fc.now += 1000000;
    uint32_t want = 10;
    int n;
    while ((n = tide_wire_recv_burst(b, f, 64)) > 0) {
        for (int i = 0; i < n; i++) {
            uint32_t seq;
            memcpy(&seq, f[i].data, 4);
            ck_assert_uint_eq(seq, want++);
            ck_assert(frame_intact(&f[i]));
        }
        tide_wire_recv_release(b, f, n);
    }
    ck_assert_uint_eq(want, 100);
}
END_TEST

static int hook_calls;
static int drop_third(void *arg, tide_sim_pkt_t *p)
{
    (void)arg;
    hook_calls++;
    if (p->len > 0)
        p->data[0] ^= 0xff;
    return hook_calls == 3 ? TIDE_SIM_DROP : TIDE_SIM_PASS;
}

START_TEST(t_hook_and_inject)
{
    open_pair("");
    tide_sim_net_set_hook(net, drop_third, NULL);
    for (uint32_t i = 0; i < 5; i++)
        send_seq(a, a2b, i, 20);
    ck_assert_uint_eq(a->stats.fault_drop, 1);
    tide_sim_net_set_hook(net, NULL, NULL);
    ck_assert_int_eq(tide_sim_net_inject(net, 999, tide_wire_sim_endpoint(b), "hello", 5), 0);
    fc.now += 20000;
    tide_wire_frame_t f[8];
    ck_assert_int_eq(tide_wire_recv_burst(b, f, 8), 5);
    ck_assert_uint_eq(f[0].data[0], 0 ^ 0xff);
    ck_assert_uint_eq(f[2].data[0], 3 ^ 0xff);
    ck_assert_mem_eq(f[4].data, "hello", 5);
    ck_assert_uint_eq(f[4].peer, TIDE_WIRE_PEER_UNKNOWN);
    tide_wire_recv_release(b, f, 5);
}
END_TEST

START_TEST(t_fault_parse)
{
    tide_wire_fault_spec_t s;
    ck_assert_int_eq(tide_wire_faults_parse(
                         "drop=0.01,dup=0.001,reorder=0.05,corrupt=0.0001,delay=50us,seed=7", &s),
                     0);
    ck_assert(s.drop == 0.01 && s.dup == 0.001 && s.reorder == 0.05 && s.corrupt == 0.0001);
    ck_assert_uint_eq(s.delay_ns, 50000);
    ck_assert_uint_eq(s.seed, 7);
    ck_assert_int_eq(s.side, TIDE_WIRE_FAULT_RX);
    ck_assert(tide_wire_faults_active(&s));
    ck_assert_int_eq(tide_wire_faults_parse("side=both,jitter=1ms", &s), 0);
    ck_assert_int_eq(s.side, TIDE_WIRE_FAULT_RX | TIDE_WIRE_FAULT_TX);
    ck_assert_uint_eq(s.jitter_ns, 1000000);
    ck_assert(!tide_wire_faults_active(&s));
    ck_assert_int_eq(tide_wire_faults_parse("", &s), 0);
    ck_assert_int_eq(tide_wire_faults_parse(NULL, &s), 0);
    ck_assert_int_eq(tide_wire_faults_parse("drop=2", &s), -EINVAL);
    ck_assert_int_eq(tide_wire_faults_parse("drop", &s), -EINVAL);
    ck_assert_int_eq(tide_wire_faults_parse("loss=0.1", &s), -EINVAL);
    ck_assert_int_eq(tide_wire_faults_parse("delay=fast", &s), -EINVAL);
    ck_assert_int_eq(tide_wire_faults_parse("side=up", &s), -EINVAL);
    tide_wire_config_t c = {.kind = "sim", .sim_net = net, .faults = "drop=x"};
    ck_assert_int_eq(tide_wire_open(&c, &a), -EINVAL);
    a = NULL;
    c.kind = "carrier-pigeon";
    ck_assert_int_eq(tide_wire_open(&c, &a), -EINVAL);
    a = NULL;
}
END_TEST

/* The outcome of one faulty run, summarised. */
typedef struct run_result {
    uint32_t crc; /* over the received (seq, len, first bytes) in order */
    uint32_t received, intact, out_of_order, dups;
    tide_wire_stats_t sa, sb;
} run_result_t;

/* Send `n` frames a -> b, 8 per burst, 1 us apart, receive everything,
 * summarise.  `wrap` faults go through the wrapper on both endpoints,
 * `netf` are the net's built-in faults. */
static run_result_t faulty_run(uint64_t seed, const char *wrap, const char *netf, uint32_t n)
{
    run_result_t r;
    memset(&r, 0, sizeof(r));
    if (a)
        tide_wire_close(a);
    if (b)
        tide_wire_close(b);
    a = b = NULL;
    tide_sim_net_destroy(net);
    tide_fake_clock_init(&fc, 0);
    ck_assert_int_eq(tide_sim_net_create(&fc.base, seed, &net), 0);
    tide_sim_net_set_latency(net, 5000);
    ck_assert_int_eq(tide_sim_net_set_faults(net, netf), 0);
    open_pair(wrap);
    static uint8_t seen[100000];
    memset(seen, 0, n);
    uint32_t last = 0;
    tide_wire_frame_t f[32];
    for (uint32_t i = 0;; fc.now += 1000) {
        for (int k = 0; k < 8 && i < n; k++, i++)
            ck_assert_int_eq(send_seq(a, a2b, i, 64 + (i % 200)), 1);
        /* the sender is polled too: it sends the frames its wrapper held */
        ck_assert_int_eq(tide_wire_recv_burst(a, f, 32), 0);
        int got = tide_wire_recv_burst(b, f, 32);
        for (int k = 0; k < got; k++) {
            uint32_t seq;
            memcpy(&seq, f[k].data, 4);
            r.crc = tide_crc32c(r.crc, f[k].data, f[k].len);
            r.received++;
            if (!frame_intact(&f[k]) || f[k].len != 64 + (seq % 200)) {
                continue;
            }
            r.intact++;
            if (seen[seq]++)
                r.dups++;
            else if (seq < last)
                r.out_of_order++;
            if (seq > last)
                last = seq;
        }
        tide_wire_recv_release(b, f, got);
        if (i >= n && !tide_sim_net_pending(net) && fc.now > (uint64_t)n * 1000 + 10000000)
            break;
    }
    a->ops->update_stats(a);
    b->ops->update_stats(b);
    r.sa = a->stats;
    r.sb = b->stats;
    return r;
}

START_TEST(t_wrapper_determinism)
{
    const char *spec = "drop=0.05,dup=0.02,reorder=0.1,corrupt=0.01,delay=20us,seed=7";
    run_result_t r1 = faulty_run(1, spec, "", 20000);
    run_result_t r2 = faulty_run(1, spec, "", 20000);
    ck_assert_uint_eq(r1.crc, r2.crc);
    ck_assert_uint_eq(r1.received, r2.received);
    ck_assert_mem_eq(&r1.sb, &r2.sb, sizeof(r1.sb));
    run_result_t r3 =
        faulty_run(1, "drop=0.05,dup=0.02,reorder=0.1,corrupt=0.01,delay=20us,seed=8", "", 20000);
    ck_assert_uint_ne(r1.crc, r3.crc);
}
END_TEST

/* Counts: the receiver's wrapper (side=rx) injects everything; what arrives
 * must add up exactly, and the rates must be near the asked ones. */
START_TEST(t_wrapper_counts_rx)
{
    uint32_t n = 20000;
    run_result_t r = faulty_run(3, "drop=0.05,dup=0.02,reorder=0.1,corrupt=0.01,seed=9", "", n);
    tide_wire_stats_t *s = &r.sb;
    ck_assert_uint_eq(r.received, n - s->fault_drop + s->fault_dup);
    ck_assert_uint_eq(r.sa.fault_drop + r.sa.fault_dup + r.sa.fault_corrupt, 0);
    ck_assert(s->fault_drop > n * 0.04 && s->fault_drop < n * 0.06);
    ck_assert(s->fault_dup > n * 0.014 && s->fault_dup < n * 0.026);
    ck_assert(s->fault_reorder > n * 0.08 && s->fault_reorder < n * 0.12);
    ck_assert(s->fault_corrupt > n * 0.006 && s->fault_corrupt < n * 0.014);
    /* a corrupted frame is corrupted in both copies of a duplicate; so the
     * damaged count lies between corrupt and 2*corrupt */
    uint32_t damaged = r.received - r.intact;
    ck_assert_uint_ge(damaged, s->fault_corrupt - 0);
    ck_assert_uint_le(damaged, 2 * s->fault_corrupt);
    ck_assert_uint_gt(r.out_of_order, 0);
    ck_assert_uint_eq(s->rx_frames, r.received);
    ck_assert_uint_eq(s->fault_delay, 0);
}
END_TEST

START_TEST(t_wrapper_counts_tx)
{
    uint32_t n = 20000;
    run_result_t r = faulty_run(
        3, "drop=0.05,dup=0.02,reorder=0.1,corrupt=0.01,delay=3us,seed=9,side=tx", "", n);
    tide_wire_stats_t *s = &r.sa;
    ck_assert_uint_eq(r.received, n - s->fault_drop + s->fault_dup);
    ck_assert(s->fault_drop > n * 0.04 && s->fault_drop < n * 0.06);
    ck_assert(s->fault_dup > n * 0.014 && s->fault_dup < n * 0.026);
    ck_assert(s->fault_corrupt > n * 0.006 && s->fault_corrupt < n * 0.014);
    ck_assert_uint_eq(s->fault_delay, n - s->fault_drop);
    uint32_t damaged = r.received - r.intact;
    ck_assert_uint_ge(damaged, s->fault_corrupt);
    ck_assert_uint_le(damaged, 2 * s->fault_corrupt);
    ck_assert_uint_gt(r.out_of_order, 0);
    ck_assert_uint_eq(s->tx_frames, n);
    ck_assert_uint_eq(r.sb.fault_drop, 0);
}
END_TEST

START_TEST(t_net_faults)
{
    uint32_t n = 20000;
    run_result_t r = faulty_run(5, "", "drop=0.05,dup=0.02,reorder=0.1,corrupt=0.01", n);
    tide_wire_stats_t *s = &r.sa; /* built-in faults count at the sender */
    ck_assert_uint_eq(r.received, n - s->fault_drop + s->fault_dup);
    ck_assert(s->fault_drop > n * 0.04 && s->fault_drop < n * 0.06);
    ck_assert(s->fault_dup > n * 0.014 && s->fault_dup < n * 0.026);
    uint32_t damaged = r.received - r.intact;
    ck_assert_uint_ge(damaged, s->fault_corrupt);
    ck_assert_uint_le(damaged, 2 * s->fault_corrupt);
    ck_assert_uint_gt(r.out_of_order, 0);
    run_result_t r2 = faulty_run(5, "", "drop=0.05,dup=0.02,reorder=0.1,corrupt=0.01", n);
    ck_assert_uint_eq(r.crc, r2.crc);
    run_result_t r3 = faulty_run(6, "", "drop=0.05,dup=0.02,reorder=0.1,corrupt=0.01", n);
    ck_assert_uint_ne(r.crc, r3.crc);
}
END_TEST

/* A delayed frame is held by the wrapper until the clock passes its delay. */
START_TEST(t_wrapper_delay)
{
    tide_sim_net_set_latency(net, 0);
    open_pair("delay=50us");
    send_seq(a, a2b, 1, 10);
    tide_wire_frame_t f;
    ck_assert_int_eq(tide_wire_recv_burst(b, &f, 1), 0);
    fc.now += 49999;
    ck_assert_int_eq(tide_wire_recv_burst(b, &f, 1), 0);
    fc.now += 1;
    ck_assert_int_eq(tide_wire_recv_burst(b, &f, 1), 1);
    tide_wire_recv_release(b, &f, 1);
    b->ops->update_stats(b);
    ck_assert_uint_eq(b->stats.fault_delay, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wire-sim");
    TCase *tc = tcase_create("sim");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t_latency_and_content);
    tcase_add_test(tc, t_unknown_peer_and_addr);
    tcase_add_test(tc, t_max_payload);
    tcase_add_test(tc, t_order_rate_and_queue);
    tcase_add_test(tc, t_hook_and_inject);
    tcase_add_test(tc, t_fault_parse);
    tcase_add_test(tc, t_wrapper_determinism);
    tcase_add_test(tc, t_wrapper_counts_rx);
    tcase_add_test(tc, t_wrapper_counts_tx);
    tcase_add_test(tc, t_net_faults);
    tcase_add_test(tc, t_wrapper_delay);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

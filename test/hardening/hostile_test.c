/* Hostile input against the stream engine and the p2p frame checks (issue
 * 9 item 4), the parts test/stream/{stream,crafted}_test.c do not already
 * cover (those cover wrong job key, bad CRC, malformed headers, PAWS,
 * out-of-window data and the RFC 5961 RST/SYN/ACK rules):
 *   - segments for a wrong port, or from a wrong endpoint with the right
 *     ports and sequence numbers: dropped, counted, answered with RST,
 *     never delivered to the stream;
 *   - the RFC 5961 section 7 limit on challenge ACKs (an attacker spraying
 *     in-window RSTs gets at most 1000 answers a second);
 *   - the authenticated mode (TIDE_STREAM_MAC, mac.h): frame format, a
 *     transfer under loss and corruption, and every forgery dropped and
 *     counted: unauthenticated frames, a wrong key, tampering with the CRC
 *     recomputed;
 *   - p2p DATA bounds that wrap around 2^64 (frame.c). */
#include "config.h"
#include "../stream/capwire.h"
#include "../stream/harness.h"
#include "p2p/frame.h"
#include "stream/mac.h"
#include "stream/tcb.h"
#include "tide/stream.h"
#include "util/crc32c.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- capture wire: one stack, the test is the peer ---- */

static tide_fake_clock_t fc;
static capwire_t *cw;
static tide_stream_stack_t *st;
static tide_stream_t *s;
static uint32_t peer_seq, our_iss;

static void cap_setup(void)
{
    tide_fake_clock_init(&fc, 5000000000ull);
    cw = malloc(sizeof(*cw));
    capwire_init(cw, &fc.base, 1500);
    tide_stream_stack_opts_t o = {.key = 0x77, .clock = &fc.base, .seed = 5, .no_shm_stats = 1};
    ck_assert_int_eq(tide_stream_stack_create(&cw->w, &o, &st), 0);
}

static void cap_teardown(void)
{
    tide_stream_stack_destroy(st);
    free(cw);
}

static void cap_seg(uint8_t flags, uint16_t sport, uint16_t dport, uint32_t seq, const char *data)
{
    tide_seg_t g;
    memset(&g, 0, sizeof(g));
    g.flags = flags;
    g.sport = sport;
    g.dport = dport;
    g.key = 0x77;
    g.seq = seq;
    g.ack = our_iss + 1;
    g.wnd = 65535;
    g.tsval = (uint32_t)(fc.now / 1000);
    g.len = data ? (uint16_t)strlen(data) : 0;
    if (flags & TIDE_SEG_SYN)
        g.mss = 1000;
    capwire_put(cw, &g, data);
    tide_stream_stack_progress(st);
}

static void cap_establish(void)
{
    ck_assert_int_eq(tide_stream_open(st, &s), 0);
    ck_assert_int_eq(tide_stream_connect(s, &cw->w.addr, 80, TIDE_STREAM_DONTWAIT), -EINPROGRESS);
    our_iss = cw->seg[0].seq;
    peer_seq = 5000;
    cap_seg(TIDE_SEG_SYN | TIDE_SEG_ACK, 80, s->lport, peer_seq++, NULL);
    int64_t state;
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_ESTABLISHED);
    capwire_clear(cw);
}

START_TEST(wrong_port_dropped_and_reset)
{
    cap_establish();
    const tide_stream_stats_t *c = tide_stream_stack_stats(st);
    cap_seg(TIDE_SEG_ACK | TIDE_SEG_PSH, 80, (uint16_t)(s->lport + 1), peer_seq, "evil");
    cap_seg(TIDE_SEG_ACK | TIDE_SEG_PSH, 81, s->lport, peer_seq, "evil");
    ck_assert_uint_eq(c->no_conn_drops, 2);
    ck_assert_int_eq(cw->nsent, 2); /* each answered with a RST (RFC 9293 3.10.7.1) */
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(cw->seg[i].flags & TIDE_SEG_RST, TIDE_SEG_RST);
        ck_assert_uint_eq(cw->seg[i].seq, our_iss + 1); /* the ACK field of the probe */
    }
    ck_assert_uint_eq(cw->seg[0].sport, (uint16_t)(s->lport + 1));
    ck_assert_uint_eq(cw->seg[1].dport, 81);
    char r[8];
    ck_assert_int_eq(tide_stream_recv(s, r, sizeof(r), TIDE_STREAM_DONTWAIT), -EAGAIN);
    int64_t state;
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_ESTABLISHED);
    /* a RST for a wrong port resets nothing */
    cap_seg(TIDE_SEG_RST, 81, s->lport, peer_seq, NULL);
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_ESTABLISHED);
    cap_seg(TIDE_SEG_ACK | TIDE_SEG_PSH, 80, s->lport, peer_seq, "good");
    ck_assert_int_eq(tide_stream_recv(s, r, sizeof(r), TIDE_STREAM_DONTWAIT), 4);
    ck_assert(memcmp(r, "good", 4) == 0);
}
END_TEST

START_TEST(challenge_ack_rate_limit)
{
    cap_establish();
    const tide_stream_stats_t *c = tide_stream_stack_stats(st);
    int acks = 0;
    for (int i = 0; i < 1200; i++) {
        cap_seg(TIDE_SEG_RST, 80, s->lport, peer_seq + 1 + (uint32_t)i, NULL);
        acks += cw->nsent;
        capwire_clear(cw);
    }
    ck_assert_uint_eq(c->rst_out_of_window, 1200);
    ck_assert_uint_eq(c->challenge_acks, 1000); /* RFC 5961 section 7 */
    ck_assert_int_eq(acks, 1000);
    fc.now += 1000000000ull; /* a new second: answered again */
    cap_seg(TIDE_SEG_RST, 80, s->lport, peer_seq + 7, NULL);
    ck_assert_int_eq(cw->nsent, 1);
    ck_assert_uint_eq(cw->seg[0].flags, TIDE_SEG_ACK);
    ck_assert_uint_eq(cw->seg[0].ack, peer_seq);
    int64_t state;
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_ESTABLISHED);
}
END_TEST

/* ---- sim harness: two stacks; a third endpoint or the test forges ---- */

static harness_t H;

static void sim_setup(void)
{
    harness_init(&H, 11, NULL, NULL);
}

static void sim_teardown(void)
{
    harness_fini(&H);
}

/* A copy of seg (from a to b) sent from another endpoint number. */
static void inject_from(uint16_t src, const tide_seg_t *seg, const char *payload,
                        const tide_mac_t *mac)
{
    uint8_t buf[2048];
    struct iovec iov = {(void *)payload, seg->len};
    size_t hl = tide_seg_write_hdr_auth(seg, buf, &iov, seg->len ? 1 : 0, mac);
    memcpy(buf + hl, payload, seg->len);
    ck_assert_int_eq(tide_sim_net_inject(H.net, src, H.eb, buf, (uint32_t)(hl + seg->len)), 0);
}

/* The next data segment a would send on ca, ports and numbers right. */
static tide_seg_t next_from_a(tide_stream_t *ca, tide_stream_t *cb, uint16_t len)
{
    tide_seg_t g;
    memset(&g, 0, sizeof(g));
    g.flags = TIDE_SEG_ACK | TIDE_SEG_PSH;
    g.sport = ca->lport;
    g.dport = ca->rport;
    g.key = H.a->key;
    g.seq = cb->rcv_nxt;
    g.ack = ca->rcv_nxt;
    g.wnd = 65535;
    g.tsval = (uint32_t)(H.fc.now / 1000);
    g.tsecr = ca->ts_recent;
    g.len = len;
    return g;
}

START_TEST(wrong_endpoint_dropped)
{
    tide_stream_t *ca, *cb;
    harness_connect(&H, 90, &ca, &cb);
    tide_seg_t g = next_from_a(ca, cb, 4);
    inject_from(999, &g, "evil", NULL); /* right ports, seq, key; another source */
    harness_run_for(&H, 100000);
    ck_assert_uint_eq(hs(H.b)->no_conn_drops, 1);
    char r[8];
    ck_assert_int_eq(tide_stream_recv(cb, r, sizeof(r), TIDE_STREAM_DONTWAIT), -EAGAIN);
    ck_assert_int_eq(tide_stream_send(ca, "ok", 2, 0), 2);
    harness_run_for(&H, 100000);
    ck_assert_int_eq(tide_stream_recv(cb, r, sizeof(r), TIDE_STREAM_DONTWAIT), 2);
    ck_assert(memcmp(r, "ok", 2) == 0);
}
END_TEST

/* ---- authenticated mode ---- */

static const uint8_t key1[TIDE_MAC_KEY_LEN] = "0123456789abcdef0123456789abcde";
static const uint8_t key2[TIDE_MAC_KEY_LEN] = "0123456789abcdef0123456789abcdX";

/* Replace the harness's stacks by authenticated ones (keys ka, kb). */
static void sim_auth(const uint8_t *ka, const uint8_t *kb)
{
    tide_stream_stack_destroy(H.a);
    tide_stream_stack_destroy(H.b);
    tide_stream_stack_opts_t o = {
        .clock = &H.fc.base, .seed = 23, .no_shm_stats = 1, .mac_key = ka};
    ck_assert_int_eq(tide_stream_stack_create(H.wa, &o, &H.a), 0);
    o.seed = 24;
    o.mac_key = kb;
    ck_assert_int_eq(tide_stream_stack_create(H.wb, &o, &H.b), 0);
}

START_TEST(mac_frame_format)
{
    if (!tide_mac_available())
        return;
    tide_mac_t m, other;
    ck_assert_int_eq(tide_mac_init(&m, key1), 0);
    ck_assert_int_eq(tide_mac_init(&other, key2), 0);
    ck_assert_int_eq(m.on, 1);
    tide_seg_t g, out;
    memset(&g, 0, sizeof(g));
    g.flags = TIDE_SEG_ACK;
    g.seq = 7;
    g.nsack = 2;
    g.sack[0].left = 100, g.sack[0].right = 200;
    g.sack[1].left = 300, g.sack[1].right = 400;
    g.len = 5;
    uint8_t f[256];
    struct iovec iov = {"hello", 5};
    size_t hl = tide_seg_write_hdr_auth(&g, f, &iov, 1, &m);
    ck_assert_uint_eq(hl, TIDE_SEG_HDR_LEN + 16 + TIDE_SEG_MAC_LEN);
    ck_assert_uint_eq(f[0], TIDE_SEG_VERSION_MAC);
    memcpy(f + hl, "hello", 5);
    size_t len = hl + 5;
    ck_assert_int_eq(tide_seg_parse_auth(f, len, &out, &m), TIDE_SEG_OK);
    ck_assert_uint_eq(out.len, 5);
    ck_assert(memcmp(out.payload, "hello", 5) == 0);
    ck_assert_uint_eq(out.sack[1].right, 400);
    ck_assert_int_eq(tide_seg_parse_auth(f, len, &out, &other), TIDE_SEG_ERR_MAC);
    ck_assert_int_eq(tide_seg_parse(f, len, &out), TIDE_SEG_ERR_VERSION); /* mode off */
    /* every byte tampered with, the CRC made right again: refused */
    for (size_t i = 0; i < len; i++) {
        if (i == 0 || i == 2 || i == 3 || i == 23 || (i >= 34 && i < 40))
            continue; /* version, lengths, reserved, CRC: other checks */
        uint8_t t[256];
        memcpy(t, f, len);
        t[i] ^= 0x01;
        static const uint8_t zero[4];
        uint32_t crc = tide_crc32c(0, t, 36);
        crc = tide_crc32c(crc, zero, 4);
        crc = tide_crc32c(crc, t + 40, len - 40);
        t[36] = (uint8_t)(crc >> 24), t[37] = (uint8_t)(crc >> 16);
        t[38] = (uint8_t)(crc >> 8), t[39] = (uint8_t)crc;
        tide_seg_err_t e = tide_seg_parse_auth(t, len, &out, &m);
        ck_assert_msg(e == TIDE_SEG_ERR_MAC, "byte %zu flipped: %s", i, tide_seg_err_str(e));
    }
    /* a plain segment is refused by a stack in the mode */
    hl = tide_seg_write_hdr(&g, f, &iov, 1);
    memcpy(f + hl, "hello", 5);
    ck_assert_int_eq(tide_seg_parse_auth(f, hl + 5, &out, &m), TIDE_SEG_ERR_MAC);
    ck_assert_int_eq(tide_seg_parse(f, hl + 5, &out), TIDE_SEG_OK);
}
END_TEST

static int sim_nothing(void *arg)
{
    return 0;
}

START_TEST(mac_transfer_under_faults)
{
    if (!tide_mac_available())
        return;
    ck_assert_int_eq(tide_sim_net_set_faults(H.net, "drop=0.03,dup=0.02,reorder=0.03,corrupt=0.02"),
                     0);
    sim_auth(key1, key1);
    tide_stream_t *ca, *cb;
    harness_connect(&H, 91, &ca, &cb);
    ck_assert_uint_eq(ca->mss, 1500 - TIDE_SEG_HDR_MAX - TIDE_SEG_MAC_LEN);
    enum { N = 300000 };
    static uint8_t out[N], in[N];
    for (int i = 0; i < N; i++)
        out[i] = (uint8_t)(i * 7 + (i >> 9));
    size_t sent = 0, got = 0;
    while (got < N) {
        if (sent < N) {
            ssize_t n = tide_stream_send(ca, out + sent, N - sent, TIDE_STREAM_DONTWAIT);
            if (n > 0)
                sent += (size_t)n;
        }
        ssize_t n = tide_stream_recv(cb, in + got, N - got, TIDE_STREAM_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        harness_pump(&H);
        ck_assert_uint_lt(H.fc.now, 200000000000ull);
    }
    ck_assert(memcmp(in, out, N) == 0);
    /* the corrupted frames failed the CRC, none the MAC */
    ck_assert_uint_gt(hs(H.a)->crc_errors + hs(H.b)->crc_errors, 0);
    ck_assert_uint_eq(hs(H.a)->mac_drops + hs(H.b)->mac_drops, 0);
    /* forgeries: no tag, a wrong key, from the right endpoint and ports */
    tide_mac_t wrong;
    ck_assert_int_eq(tide_mac_init(&wrong, key2), 0);
    tide_seg_t g = next_from_a(ca, cb, 4);
    tide_sim_net_set_faults(H.net, "");
    inject_from(H.ea, &g, "evil", NULL);
    inject_from(H.ea, &g, "evil", &wrong);
    g.flags = TIDE_SEG_RST;
    g.len = 0; /* the payload is "": 4 bytes would be read past its end */
    inject_from(H.ea, &g, "", NULL);
    inject_from(H.ea, &g, "", &wrong);
    harness_run(&H, sim_nothing, NULL, 100000);
    ck_assert_uint_eq(hs(H.b)->mac_drops, 4);
    char r[8];
    ck_assert_int_eq(tide_stream_recv(cb, r, sizeof(r), TIDE_STREAM_DONTWAIT), -EAGAIN);
    int64_t state;
    tide_stream_getopt(cb, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_ESTABLISHED);
}
END_TEST

START_TEST(mac_key_mismatch_never_connects)
{
    if (!tide_mac_available())
        return;
    sim_auth(key1, key2);
    tide_stream_t *ls, *ca;
    ck_assert_int_eq(tide_stream_open(H.b, &ls), 0);
    ck_assert_int_eq(tide_stream_listen(ls, 92, 4), 0);
    ck_assert_int_eq(tide_stream_open(H.a, &ca), 0);
    ck_assert_int_eq(tide_stream_connect(ca, &H.wb->addr, 92, TIDE_STREAM_DONTWAIT), -EINPROGRESS);
    harness_run_for(&H, 500000000ull);
    tide_stream_t *c;
    ck_assert_int_eq(tide_stream_accept(ls, &c, TIDE_STREAM_DONTWAIT), -EAGAIN);
    ck_assert_uint_ge(hs(H.b)->mac_drops, 2); /* the SYN and its retransmissions */
    ck_assert_uint_eq(hs(H.b)->passive_opens, 0);
    tide_stream_close(ca);
    tide_stream_close(ls);
}
END_TEST

/* ---- p2p frame checks ---- */

START_TEST(p2p_data_bounds_wrap)
{
    tide_p2p_frame_t h;
    memset(&h, 0, sizeof(h));
    h.magic = TIDE_P2P_MAGIC;
    h.kind = TIDE_P2P_F_DATA;
    h.id = 4064; /* offset */
    h.len = 32;
    ck_assert_int_eq(tide_p2p_frame_data_fits(&h, 4096, 4096), 0);
    h.len = 33;
    ck_assert_int_eq(tide_p2p_frame_data_fits(&h, 4096, 4096), -EPROTO);
    h.len = 32;
    ck_assert_int_eq(tide_p2p_frame_data_fits(&h, 4096, 31), -EPROTO);
    /* offset + length wraps to a small number: was accepted before frame.c */
    h.id = UINT64_MAX - 15;
    h.len = 32;
    ck_assert_int_eq(tide_p2p_frame_data_fits(&h, 4096, 4096), -EPROTO);
    h.id = 5000;
    h.len = 0;
    ck_assert_int_eq(tide_p2p_frame_data_fits(&h, 4096, 4096), -EPROTO);
    const char *why = NULL;
    h.kind = TIDE_P2P_F_EAGER;
    h.len = ((uint64_t)1 << 40) + 1;
    ck_assert_int_eq(tide_p2p_frame_check(&h, 65536, &why), -EPROTO);
    ck_assert_ptr_nonnull(why);
    h.kind = TIDE_P2P_F_HELLO; /* only as the first frame of a stream */
    ck_assert_int_eq(tide_p2p_frame_check(&h, 65536, &why), -EPROTO);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *su = suite_create("hostile");
    TCase *tc = tcase_create("capture");
    tcase_add_checked_fixture(tc, cap_setup, cap_teardown);
    tcase_add_test(tc, wrong_port_dropped_and_reset);
    tcase_add_test(tc, challenge_ack_rate_limit);
    suite_add_tcase(su, tc);
    tc = tcase_create("sim");
    tcase_add_checked_fixture(tc, sim_setup, sim_teardown);
    tcase_add_test(tc, wrong_endpoint_dropped);
    tcase_add_test(tc, mac_transfer_under_faults);
    tcase_add_test(tc, mac_key_mismatch_never_connects);
    suite_add_tcase(su, tc);
    tc = tcase_create("format");
    tcase_add_test(tc, mac_frame_format);
    tcase_add_test(tc, p2p_data_bounds_wrap);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(hostile_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Crafted-segment tests on the capture wire (capwire.h): one stack, the
 * test plays the peer and checks every segment the stack sends - SYN
 * options, MSS-sized segmentation, delayed ACKs, zero-window probes and
 * their backoff, RFC 5961 challenge ACKs, SACK blocks for out-of-order
 * data, and the passive close. */
#include "config.h"
#include "capwire.h"
#include "stream/tcb.h"
#include "tide/stream.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static tide_fake_clock_t fc;
static capwire_t *cw;
static tide_stream_stack_t *st;
static tide_stream_t *s;
static uint32_t peer_seq, our_iss, last_tsval;

static void setup(void)
{
    tide_fake_clock_init(&fc, 5000000000ull);
    cw = malloc(sizeof(*cw));
    capwire_init(cw, &fc.base, 1500);
    tide_stream_stack_opts_t o = {.key = 0x55, .clock = &fc.base, .seed = 3, .no_shm_stats = 1};
    ck_assert_int_eq(tide_stream_stack_create(&cw->w, &o, &st), 0);
}

static void teardown(void)
{
    tide_stream_stack_destroy(st);
    free(cw);
}

static const tide_seg_t *last(void)
{
    ck_assert_int_gt(cw->nsent, 0);
    last_tsval = cw->seg[cw->nsent - 1].tsval;
    return &cw->seg[cw->nsent - 1];
}

static void pump(void)
{
    tide_stream_stack_progress(st);
}

static void advance(uint64_t ns)
{
    fc.now += ns;
    pump();
}

/* A segment from the peer (port 80) to our stream. */
static void peer(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, const char *data)
{
    tide_seg_t g;
    memset(&g, 0, sizeof(g));
    g.flags = flags;
    g.sport = 80;
    g.dport = s->lport;
    g.key = 0x55;
    g.seq = seq;
    g.ack = ack;
    g.wnd = wnd;
    g.tsval = (uint32_t)(fc.now / 1000);
    g.tsecr = last_tsval;
    g.len = data ? (uint16_t)strlen(data) : 0;
    if (flags & TIDE_SEG_SYN)
        g.mss = 1000;
    capwire_put(cw, &g, data);
    pump();
}

/* Active open to port 80; the peer's ISN is 1000, its MSS 1000. */
static void establish(void)
{
    ck_assert_int_eq(tide_stream_open(st, &s), 0);
    ck_assert_int_eq(tide_stream_setopt(s, TIDE_SO_NODELAY, 1), 0);
    ck_assert_int_eq(tide_stream_connect(s, &cw->w.addr, 80, TIDE_STREAM_DONTWAIT), -EINPROGRESS);
    ck_assert_int_eq(cw->nsent, 1);
    const tide_seg_t *syn = last();
    ck_assert_uint_eq(syn->flags, TIDE_SEG_SYN);
    ck_assert_uint_eq(syn->dport, 80);
    ck_assert_uint_eq(syn->key, 0x55);
    ck_assert_uint_eq(syn->mss, 1500 - TIDE_SEG_HDR_MAX);
    ck_assert_uint_le(syn->wscale, 14);
    ck_assert_uint_le(s->rb_cap >> syn->wscale, 65535);
    ck_assert_uint_gt(s->rb_cap >> syn->wscale, 32767);
    our_iss = syn->seq;
    peer_seq = 1000;
    peer(TIDE_SEG_SYN | TIDE_SEG_ACK, peer_seq, our_iss + 1, 65535, NULL);
    peer_seq++;
    const tide_seg_t *ack = last();
    ck_assert_int_eq(cw->nsent, 2);
    ck_assert_uint_eq(ack->flags, TIDE_SEG_ACK);
    ck_assert_uint_eq(ack->seq, our_iss + 1);
    ck_assert_uint_eq(ack->ack, peer_seq);
    int64_t state;
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_ESTABLISHED);
    capwire_clear(cw);
}

START_TEST(segmentation_and_delayed_ack)
{
    establish();
    static char buf[3000];
    memset(buf, 'x', sizeof(buf));
    ck_assert_int_eq(tide_stream_send(s, buf, sizeof(buf), 0), 3000);
    ck_assert_int_eq(cw->nsent, 3); /* the peer's MSS is 1000 */
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(cw->seg[i].len, 1000);
        ck_assert_uint_eq(cw->seg[i].seq, our_iss + 1 + 1000 * (uint32_t)i);
        ck_assert_uint_eq(cw->seg[i].flags & TIDE_SEG_ACK, TIDE_SEG_ACK);
    }
    ck_assert_uint_eq(cw->seg[2].flags & TIDE_SEG_PSH, TIDE_SEG_PSH);
    last();
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 3001, 65535, NULL);
    ck_assert_int_eq(cw->nsent, 3); /* nothing to answer */
    peer(TIDE_SEG_ACK | TIDE_SEG_PSH, peer_seq, our_iss + 3001, 65535, "hello");
    ck_assert_int_eq(cw->nsent, 3); /* the ACK is delayed */
    advance(300000);
    ck_assert_int_eq(cw->nsent, 4);
    ck_assert_uint_eq(last()->ack, peer_seq + 5);
    ck_assert_uint_eq(last()->len, 0);
    ck_assert_uint_eq(tide_stream_stack_stats(st)->delayed_acks, 1);
    char r[8];
    ck_assert_int_eq(tide_stream_recv(s, r, sizeof(r), TIDE_STREAM_DONTWAIT), 5);
}
END_TEST

START_TEST(zero_window_probes)
{
    establish();
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 1, 0, NULL); /* window closes */
    ck_assert_int_eq(tide_stream_send(s, "0123456789", 10, 0), 10);
    ck_assert_int_eq(cw->nsent, 0);
    uint64_t t0 = fc.now;
    uint64_t at[3];
    for (int k = 0; k < 3; k++) {
        int before = cw->nsent;
        while (cw->nsent == before)
            advance(10000);
        const tide_seg_t *p = last();
        ck_assert_uint_eq(p->seq, our_iss); /* snd_una - 1, no data */
        ck_assert_uint_eq(p->len, 0);
        at[k] = fc.now - t0;
        peer(TIDE_SEG_ACK, peer_seq, our_iss + 1, 0, NULL); /* still closed */
    }
    /* exponential backoff between probes */
    ck_assert_uint_ge(at[2] - at[1], 2 * (at[1] - at[0]) - 20000);
    ck_assert_uint_eq(tide_stream_stack_stats(st)->window_probes, 3);
    int before = cw->nsent;
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 1, 500, NULL); /* opens */
    ck_assert_int_eq(cw->nsent, before + 1);
    ck_assert_uint_eq(last()->len, 10);
    ck_assert_uint_eq(last()->seq, our_iss + 1);
}
END_TEST

START_TEST(rst_challenge_then_reset)
{
    establish();
    peer(TIDE_SEG_RST, peer_seq + 10, 0, 0, NULL);
    ck_assert_int_eq(cw->nsent, 1);
    ck_assert_uint_eq(last()->flags, TIDE_SEG_ACK); /* challenge ACK */
    ck_assert_uint_eq(last()->ack, peer_seq);
    ck_assert_uint_eq(tide_stream_stack_stats(st)->challenge_acks, 1);
    peer(TIDE_SEG_RST, peer_seq, 0, 0, NULL);
    char c;
    ck_assert_int_eq(tide_stream_recv(s, &c, 1, TIDE_STREAM_DONTWAIT), -ECONNRESET);
    tide_stream_close(s);
    ck_assert_int_eq(tide_stream_stack_nconns(st), 0);
}
END_TEST

START_TEST(out_of_order_sack)
{
    establish();
    peer(TIDE_SEG_ACK, peer_seq + 5, our_iss + 1, 65535, "world");
    ck_assert_int_eq(cw->nsent, 1); /* immediate duplicate ACK */
    const tide_seg_t *a = last();
    ck_assert_uint_eq(a->ack, peer_seq);
    ck_assert_uint_eq(a->nsack, 1);
    ck_assert_uint_eq(a->sack[0].left, peer_seq + 5);
    ck_assert_uint_eq(a->sack[0].right, peer_seq + 10);
    peer(TIDE_SEG_ACK, peer_seq + 15, our_iss + 1, 65535, "!!!");
    a = last();
    ck_assert_uint_eq(a->nsack, 2);
    ck_assert_uint_eq(a->sack[0].left, peer_seq + 15); /* newest first */
    ck_assert_uint_eq(a->sack[1].left, peer_seq + 5);
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 1, 65535, "hello"); /* fills the first hole */
    a = last();
    ck_assert_uint_eq(a->ack, peer_seq + 10);
    ck_assert_uint_eq(a->nsack, 1);
    char r[16];
    ck_assert_int_eq(tide_stream_recv(s, r, sizeof(r), TIDE_STREAM_DONTWAIT), 10);
    ck_assert(memcmp(r, "helloworld", 10) == 0);
}
END_TEST

START_TEST(passive_close)
{
    establish();
    peer(TIDE_SEG_ACK | TIDE_SEG_FIN, peer_seq, our_iss + 1, 65535, "bye");
    ck_assert_int_eq(cw->nsent, 1);
    ck_assert_uint_eq(last()->ack, peer_seq + 4); /* data + FIN */
    char r[8];
    ck_assert_int_eq(tide_stream_recv(s, r, sizeof(r), 0), 3);
    ck_assert_int_eq(tide_stream_recv(s, r, sizeof(r), 0), 0);
    tide_stream_close(s);
    ck_assert_int_eq(cw->nsent, 2);
    ck_assert_uint_eq(last()->flags & TIDE_SEG_FIN, TIDE_SEG_FIN);
    ck_assert_uint_eq(last()->seq, our_iss + 1);
    ck_assert_int_eq(tide_stream_stack_nconns(st), 1); /* LAST-ACK */
    peer(TIDE_SEG_ACK, peer_seq + 4, our_iss + 2, 65535, NULL);
    ck_assert_int_eq(tide_stream_stack_nconns(st), 0);
}
END_TEST

START_TEST(window_scale_limits_sending)
{
    ck_assert_int_eq(tide_stream_open(st, &s), 0);
    tide_stream_setopt(s, TIDE_SO_NODELAY, 1);
    ck_assert_int_eq(tide_stream_connect(s, &cw->w.addr, 80, TIDE_STREAM_DONTWAIT), -EINPROGRESS);
    our_iss = last()->seq;
    tide_seg_t g;
    memset(&g, 0, sizeof(g));
    g.flags = TIDE_SEG_SYN | TIDE_SEG_ACK;
    g.sport = 80;
    g.dport = s->lport;
    g.key = 0x55;
    g.seq = 1000;
    g.ack = our_iss + 1;
    g.wnd = 60000; /* unscaled on the SYN */
    g.wscale = 3;
    g.mss = 1000;
    g.tsval = 1;
    capwire_put(cw, &g, NULL);
    pump();
    peer_seq = 1001;
    capwire_clear(cw);
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 1, 300, NULL); /* 300 << 3 = 2400 bytes */
    static char buf[5000];
    ck_assert_int_eq(tide_stream_send(s, buf, sizeof(buf), 0), 5000);
    uint32_t sent = 0;
    for (int i = 0; i < cw->nsent; i++)
        sent += cw->seg[i].len;
    /* two full segments; the 400 bytes left of the window wait (sender SWS
     * avoidance, RFC 9293 3.8.6.2.1: less than half the largest window) */
    ck_assert_uint_eq(sent, 2000);
    last();
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 2001, 300, NULL);
    sent = 0;
    for (int i = 0; i < cw->nsent; i++)
        sent += cw->seg[i].len;
    ck_assert_uint_eq(sent, 4000);
    ck_assert_uint_eq(last()->seq + last()->len, our_iss + 4001);
}
END_TEST

START_TEST(nagle_holds_small_segments)
{
    establish();
    tide_stream_setopt(s, TIDE_SO_NODELAY, 0);
    ck_assert_int_eq(tide_stream_send(s, "aaaa", 4, 0), 4);
    ck_assert_int_eq(cw->nsent, 1); /* nothing in flight: goes at once */
    ck_assert_int_eq(tide_stream_send(s, "bbbb", 4, 0), 4);
    ck_assert_int_eq(tide_stream_send(s, "cccc", 4, 0), 4);
    ck_assert_int_eq(cw->nsent, 1); /* held while the first is unacknowledged */
    last();
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 5, 65535, NULL);
    ck_assert_int_eq(cw->nsent, 2);
    ck_assert_uint_eq(last()->len, 8); /* coalesced */
    tide_stream_setopt(s, TIDE_SO_NODELAY, 1);
    ck_assert_int_eq(tide_stream_send(s, "dd", 2, 0), 2);
    ck_assert_int_eq(cw->nsent, 3);
}
END_TEST

START_TEST(passive_synack_retransmit)
{
    tide_stream_t *ls, *c;
    ck_assert_int_eq(tide_stream_open(st, &ls), 0);
    ck_assert_int_eq(tide_stream_listen(ls, 90, 4), 0);
    s = ls; /* peer() addresses s->lport */
    tide_seg_t g;
    memset(&g, 0, sizeof(g));
    g.flags = TIDE_SEG_SYN;
    g.sport = 80;
    g.dport = 90;
    g.key = 0x55;
    g.seq = 7000;
    g.wnd = 65535;
    g.mss = 1000;
    g.tsval = 5;
    capwire_put(cw, &g, NULL);
    pump();
    ck_assert_int_eq(cw->nsent, 1);
    ck_assert_uint_eq(last()->flags, TIDE_SEG_SYN | TIDE_SEG_ACK);
    ck_assert_uint_eq(last()->ack, 7001);
    uint32_t iss = last()->seq;
    capwire_put(cw, &g, NULL); /* the SYN again: the SYN-ACK again */
    pump();
    ck_assert_int_eq(cw->nsent, 2);
    ck_assert_uint_eq(last()->seq, iss);
    advance(100000000); /* RTO_INIT: retransmitted by the timer */
    ck_assert_int_eq(cw->nsent, 3);
    ck_assert_uint_eq(last()->flags, TIDE_SEG_SYN | TIDE_SEG_ACK);
    ck_assert_uint_eq(tide_stream_stack_stats(st)->syn_retrans, 1);
    g.flags = TIDE_SEG_ACK;
    g.seq = 7001;
    g.ack = iss + 1;
    capwire_put(cw, &g, NULL);
    pump();
    ck_assert_int_eq(tide_stream_accept(ls, &c, TIDE_STREAM_DONTWAIT), 0);
    ck_assert_uint_eq(c->rport, 80);
    ck_assert_uint_eq(c->mss, 1000);
}
END_TEST

START_TEST(rto_then_fin_retransmit)
{
    establish();
    ck_assert_int_eq(tide_stream_send(s, "abc", 3, 0), 3);
    ck_assert_int_eq(cw->nsent, 1);
    tide_stream_info_t in;
    tide_stream_get_info(s, &in);
    uint32_t cwnd0 = in.cwnd;
    /* no ACK: a tail loss probe, then the RTO resends "abc" */
    while (tide_stream_stack_stats(st)->rto_fires == 0)
        advance(50000);
    ck_assert_uint_eq(last()->seq, our_iss + 1);
    ck_assert_uint_eq(last()->len, 3);
    ck_assert_uint_eq(tide_stream_stack_stats(st)->retrans_tlp, 1);
    tide_stream_get_info(s, &in);
    ck_assert_uint_eq(in.cwnd, in.mss); /* loss window (RFC 5681 3.1) */
    ck_assert_uint_lt(in.cwnd, cwnd0);
    ck_assert_uint_eq(in.backoff, 1);
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 4, 65535, NULL);
    tide_stream_get_info(s, &in);
    ck_assert_uint_eq(in.backoff, 0);
    ck_assert_uint_eq(in.flight, 0);
    /* FIN lost: retransmitted by the timer, then ACKed: FIN-WAIT-2 */
    ck_assert_int_eq(tide_stream_shutdown(s, TIDE_STREAM_SHUT_WR), 0);
    ck_assert_uint_eq(last()->flags & TIDE_SEG_FIN, TIDE_SEG_FIN);
    int n = cw->nsent;
    while (cw->nsent == n)
        advance(50000);
    ck_assert_uint_eq(last()->flags & TIDE_SEG_FIN, TIDE_SEG_FIN);
    ck_assert_uint_eq(last()->seq, our_iss + 4);
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 5, 65535, NULL);
    int64_t state;
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_FIN_WAIT_2);
    /* the peer's FIN: TIME-WAIT, then gone once closed and the wait is over */
    peer(TIDE_SEG_ACK | TIDE_SEG_FIN, peer_seq, our_iss + 5, 65535, NULL);
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_TIME_WAIT);
    ck_assert_uint_eq(last()->ack, peer_seq + 1);
    tide_stream_close(s);
    ck_assert_int_eq(tide_stream_stack_nconns(st), 1);
    advance(100000000);
    ck_assert_int_eq(tide_stream_stack_nconns(st), 0);
}
END_TEST

START_TEST(simultaneous_close)
{
    establish();
    ck_assert_int_eq(tide_stream_shutdown(s, TIDE_STREAM_SHUT_WR), 0);
    ck_assert_uint_eq(last()->flags & TIDE_SEG_FIN, TIDE_SEG_FIN);
    /* the peer's FIN crosses ours (it has not seen our FIN) */
    peer(TIDE_SEG_ACK | TIDE_SEG_FIN, peer_seq, our_iss + 1, 65535, NULL);
    int64_t state;
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_CLOSING);
    peer(TIDE_SEG_ACK, peer_seq + 1, our_iss + 2, 65535, NULL);
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_TIME_WAIT);
    /* a retransmitted FIN in TIME-WAIT is ACKed again */
    int n = cw->nsent;
    peer(TIDE_SEG_ACK | TIDE_SEG_FIN, peer_seq, our_iss + 2, 65535, NULL);
    ck_assert_int_eq(cw->nsent, n + 1);
    ck_assert_uint_eq(last()->ack, peer_seq + 1);
}
END_TEST

START_TEST(syn_sent_rst_checks)
{
    ck_assert_int_eq(tide_stream_open(st, &s), 0);
    ck_assert_int_eq(tide_stream_connect(s, &cw->w.addr, 80, TIDE_STREAM_DONTWAIT), -EINPROGRESS);
    our_iss = last()->seq;
    /* RST whose ACK does not cover our SYN: ignored (RFC 9293 3.10.7.3) */
    peer(TIDE_SEG_RST | TIDE_SEG_ACK, 0, our_iss + 7, 0, NULL);
    int64_t state;
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_SYN_SENT);
    /* SYN-ACK acknowledging something else: answered with RST <SEQ=SEG.ACK> */
    peer(TIDE_SEG_SYN | TIDE_SEG_ACK, 1000, our_iss + 9, 65535, NULL);
    ck_assert_uint_eq(last()->flags, TIDE_SEG_RST);
    ck_assert_uint_eq(last()->seq, our_iss + 9);
    tide_stream_getopt(s, TIDE_SO_STATE, &state);
    ck_assert_int_eq(state, TIDE_STREAM_SYN_SENT);
    /* the right RST: refused */
    peer(TIDE_SEG_RST | TIDE_SEG_ACK, 0, our_iss + 1, 0, NULL);
    int64_t err;
    tide_stream_getopt(s, TIDE_SO_ERROR, &err);
    ck_assert_int_eq(err, -ECONNREFUSED);
    ck_assert_uint_eq(tide_stream_stack_stats(st)->attempt_fails, 1);
}
END_TEST

START_TEST(keepalive_probe_format)
{
    establish();
    tide_stream_setopt(s, TIDE_SO_KEEPIDLE, 10000000);
    tide_stream_setopt(s, TIDE_SO_KEEPINTVL, 5000000);
    tide_stream_setopt(s, TIDE_SO_KEEPCNT, 2);
    tide_stream_setopt(s, TIDE_SO_KEEPALIVE, 1);
    advance(10000000);
    ck_assert_int_eq(cw->nsent, 1);
    ck_assert_uint_eq(last()->seq, our_iss); /* snd_una - 1 */
    ck_assert_uint_eq(last()->len, 0);
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 1, 65535, NULL); /* alive */
    advance(5000000);
    ck_assert_int_eq(cw->nsent, 1); /* idle restarted by the answer */
    advance(5000000);
    ck_assert_int_eq(cw->nsent, 2);
    advance(5000000);
    ck_assert_int_eq(cw->nsent, 3);
    advance(5000000); /* two unanswered: reset */
    ck_assert_uint_eq(last()->flags & TIDE_SEG_RST, TIDE_SEG_RST);
    ck_assert_uint_eq(tide_stream_stack_stats(st)->keepalive_timeouts, 1);
    char c;
    ck_assert_int_eq(tide_stream_recv(s, &c, 1, TIDE_STREAM_DONTWAIT), -ETIMEDOUT);
}
END_TEST

START_TEST(ooo_queue_pruning)
{
    setenv("TIDE_STREAM_OOO_MAX", "20", 1);
    tide_param_reset_all();
    establish();
    /* islands beyond a hole at peer_seq: [10,20) and [20,30) coalesce into
     * one 20-byte interval; [40,50) goes over the 20-byte limit */
    peer(TIDE_SEG_ACK, peer_seq + 10, our_iss + 1, 65535, "0123456789");
    peer(TIDE_SEG_ACK, peer_seq + 20, our_iss + 1, 65535, "abcdefghij");
    ck_assert_uint_eq(last()->nsack, 1);
    ck_assert_uint_eq(last()->sack[0].left, peer_seq + 10);
    ck_assert_uint_eq(last()->sack[0].right, peer_seq + 30);
    peer(TIDE_SEG_ACK, peer_seq + 40, our_iss + 1, 65535, "0123456789");
    const tide_stream_stats_t *x = tide_stream_stack_stats(st);
    ck_assert_uint_eq(x->ooo_segs, 3);
    ck_assert_uint_eq(x->ooo_pruned_segs, 1);
    ck_assert_uint_eq(x->ooo_pruned_bytes, 10);
    ck_assert_uint_eq(last()->nsack, 1); /* the pruned island is not SACKed */
    unsetenv("TIDE_STREAM_OOO_MAX");
    tide_param_reset_all();
    /* more disjoint islands than the queue has intervals (32) */
    for (int i = 0; i < 40; i++)
        peer(TIDE_SEG_ACK, peer_seq + 100 + 20 * (uint32_t)i, our_iss + 1, 65535, "ab");
    ck_assert_uint_eq(x->ooo_pruned_segs, 1 + 41 - 32);
    /* filling the hole delivers what was kept, in order */
    peer(TIDE_SEG_ACK, peer_seq, our_iss + 1, 65535, "ABCDEFGHIJ");
    ck_assert_uint_eq(last()->ack, peer_seq + 30);
    char r[64];
    ck_assert_int_eq(tide_stream_recv(s, r, sizeof(r), TIDE_STREAM_DONTWAIT), 30);
    ck_assert(memcmp(r, "ABCDEFGHIJ0123456789abcdefghij", 30) == 0);
}
END_TEST

static Suite *crafted_suite(void)
{
    Suite *su = suite_create("stream-crafted");
    TCase *tc = tcase_create("capture");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, segmentation_and_delayed_ack);
    tcase_add_test(tc, zero_window_probes);
    tcase_add_test(tc, rst_challenge_then_reset);
    tcase_add_test(tc, out_of_order_sack);
    tcase_add_test(tc, passive_close);
    tcase_add_test(tc, window_scale_limits_sending);
    tcase_add_test(tc, nagle_holds_small_segments);
    tcase_add_test(tc, passive_synack_retransmit);
    tcase_add_test(tc, rto_then_fin_retransmit);
    tcase_add_test(tc, simultaneous_close);
    tcase_add_test(tc, syn_sent_rst_checks);
    tcase_add_test(tc, keepalive_probe_format);
    tcase_add_test(tc, ooo_queue_pruning);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    setenv("TIDE_STREAM_STAT_SHM", "0", 1);
    SRunner *sr = srunner_create(crafted_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

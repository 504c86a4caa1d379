/* Input path: tide_stream_input (validate, demultiplex, backlog) ->
 * tide_tcb_process (a switch on the state calling one handler per state or
 * step, RFC 9293 section 3.10.7) -> tide_tcb_ack (sender side) and
 * tide_tcb_data (receiver side: receive queue, out-of-order queue, posted
 * buffers).  RFC 5961 checks for RST, SYN and ACK and PAWS (RFC 7323
 * section 5) sit in the acceptability steps; every dropped segment is
 * counted. */
#include "config.h"
#include "stream/tcb.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

TIDE_PARAM_DEFINE(stream_paws_slack, TIDE_PARAM_TIME, "STREAM_PAWS_SLACK", "10ms",
                  "PAWS drops a segment whose timestamp is older than the last in-order one "
                  "by more than this (absorbs reordering on microsecond timestamps)");

/* ---- receive buffer ---- */

/* Bytes the receive ring can still take beyond rcv_nxt (the real window). */
uint32_t tide_tcb_rcv_space(const tide_stream_t *s)
{
    return s->rcv_read + s->rb_cap - s->rcv_nxt;
}

static void tide_ring_write(tide_stream_t *s, uint32_t seq, const uint8_t *p, uint32_t len)
{
    uint32_t off = (s->rb_head + (seq - s->rcv_read)) % s->rb_cap;
    uint32_t first = s->rb_cap - off < len ? s->rb_cap - off : len;
    memcpy(s->rb_mem + off, p, first);
    if (len > first)
        memcpy(s->rb_mem, p + first, len - first);
}

static void tide_rcv_consume(tide_stream_t *s, uint32_t n)
{
    s->rcv_read += n;
    s->rb_head = (s->rb_head + n) % s->rb_cap;
}

static void tide_rxbuf_complete(tide_stream_t *s, int status)
{
    tide_stream_rxbuf_t *rb = s->posted[s->posted_head];
    s->posted_head = (s->posted_head + 1) % TIDE_POSTED_MAX;
    s->posted_cnt--;
    rb->status = status;
    __atomic_store_n(&rb->done, 1, __ATOMIC_RELEASE);
    if (rb->cb)
        rb->cb(rb, rb->arg);
}

void tide_tcb_complete_posted(tide_stream_t *s, int status)
{
    while (s->posted_cnt)
        tide_rxbuf_complete(s, status);
}

static size_t tide_rxbuf_need(const tide_stream_rxbuf_t *rb)
{
    return rb->min && rb->min < rb->len ? rb->min : rb->len;
}

/* Copy in-order bytes from the ring into posted buffers. */
void tide_tcb_deliver_posted(tide_stream_t *s)
{
    while (s->posted_cnt && s->rcv_nxt != s->rcv_read) {
        tide_stream_rxbuf_t *rb = s->posted[s->posted_head];
        uint32_t unread = s->rcv_nxt - s->rcv_read;
        size_t room = rb->len - rb->filled;
        uint32_t n = room < unread ? (uint32_t)room : unread;
        uint32_t first = s->rb_cap - s->rb_head < n ? s->rb_cap - s->rb_head : n;
        memcpy((uint8_t *)rb->buf + rb->filled, s->rb_mem + s->rb_head, first);
        if (n > first)
            memcpy((uint8_t *)rb->buf + rb->filled + first, s->rb_mem, n - first);
        rb->filled += n;
        tide_rcv_consume(s, n);
        if (rb->filled >= tide_rxbuf_need(rb))
            tide_rxbuf_complete(s, 0);
    }
    if (s->eof && s->rcv_nxt - 1 == s->rcv_read) /* only the FIN is left */
        tide_tcb_complete_posted(s, 0);
}

/* In-order bytes straight from the frame into posted buffers (the ucopy
 * path); returns how many were taken. */
static uint32_t tide_rcv_direct(tide_stream_t *s, const uint8_t *p, uint32_t len)
{
    uint32_t done = 0;
    while (s->posted_cnt && done < len && s->rcv_read == s->rcv_nxt) {
        tide_stream_rxbuf_t *rb = s->posted[s->posted_head];
        size_t room = rb->len - rb->filled;
        uint32_t n = room < len - done ? (uint32_t)room : len - done;
        memcpy((uint8_t *)rb->buf + rb->filled, p + done, n);
        rb->filled += n;
        done += n;
        s->rcv_nxt += n;
        tide_rcv_consume(s, n);
        if (rb->filled >= tide_rxbuf_need(rb))
            tide_rxbuf_complete(s, 0);
    }
    TIDE_STAT_ADD(s->st, rcv_direct_bytes, done);
    return done;
}

/* ---- FIN ---- */

static void tide_tcb_fin(tide_stream_t *s)
{
    s->rcv_nxt++;
    s->eof = 1;
    s->ack_now = 1;
    switch (s->state) {
    case TIDE_STREAM_SYN_RCVD:
    case TIDE_STREAM_ESTABLISHED: tide_tcb_set_state(s, TIDE_STREAM_CLOSE_WAIT); break;
    case TIDE_STREAM_FIN_WAIT_1:
        if (s->fin_queued && s->snd_una == s->snd_end + 1)
            tide_tcb_enter_time_wait(s);
        else
            tide_tcb_set_state(s, TIDE_STREAM_CLOSING);
        break;
    case TIDE_STREAM_FIN_WAIT_2: tide_tcb_enter_time_wait(s); break;
    default: break;
    }
    if (s->rcv_nxt - 1 == s->rcv_read)
        tide_tcb_complete_posted(s, 0);
}

/* ---- data ---- */

static void tide_rcv_in_order(tide_stream_t *s, const uint8_t *p, uint32_t len)
{
    tide_stream_stack_t *st = s->st;
    int had_ooo = s->nooo > 0;
    uint32_t direct = s->rd_shut ? 0 : tide_rcv_direct(s, p, len);
    if (len > direct) {
        if (!s->rd_shut)
            tide_ring_write(s, s->rcv_nxt, p + direct, len - direct);
        s->rcv_nxt += len - direct;
    }
    tide_ooo_advance(s);
    if (s->rd_shut) {
        uint32_t n = s->rcv_nxt - s->rcv_read;
        TIDE_STAT_ADD(st, rcv_after_shutdown_bytes, n);
        tide_rcv_consume(s, n);
    }
    tide_tcb_deliver_posted(s);
    s->rcv_unacked_bytes += len;
    if (had_ooo || s->quickacks || s->o.lowlat) {
        if (s->quickacks)
            s->quickacks--;
        TIDE_STAT(st, quick_acks);
        s->ack_now = 1;
    } else if (s->rcv_unacked_bytes >= 2 * s->mss) {
        s->ack_now = 1;
    } else {
        tide_tcb_ack_event(s, 0);
    }
}

static void tide_rcv_out_of_order(tide_stream_t *s, uint32_t seq, const uint8_t *p, uint32_t len)
{
    tide_stream_stack_t *st = s->st;
    TIDE_STAT(st, ooo_segs);
    TIDE_STAT_ADD(st, ooo_bytes, len);
    s->c_ooo_segs++;
    if (!s->rd_shut)
        tide_ring_write(s, seq, p, len);
    tide_ooo_add(s, seq, seq + len);
    s->ack_now = 1; /* duplicate ACK with SACK at once (RFC 5681 4.2) */
    TIDE_STAT(st, quick_acks);
}

/* Trim seg to [rcv_nxt, rcv_read + rb_cap) and place it.  Returns 0 if the
 * segment's end (where a FIN would sit) was kept, -1 if it was cut. */
static int tide_tcb_data(tide_stream_t *s, const tide_seg_t *seg)
{
    tide_stream_stack_t *st = s->st;
    uint32_t seq = seg->seq, len = seg->len;
    const uint8_t *p = seg->payload;
    if (TIDE_SEQ_LT(seq, s->rcv_nxt)) {
        uint32_t d = s->rcv_nxt - seq;
        if (d >= len) {
            TIDE_STAT(st, dup_segs_in);
            s->ack_now = 1;
            return 0;
        }
        p += d;
        len -= d;
        seq = s->rcv_nxt;
    }
    int cut = 0;
    uint32_t limit = s->rcv_read + s->rb_cap;
    if (TIDE_SEQ_GT(seq + len, limit)) {
        uint32_t keep = TIDE_SEQ_GT(limit, seq) ? limit - seq : 0;
        TIDE_STAT_ADD(st, beyond_window_bytes, len - keep);
        len = keep;
        cut = -1;
        s->ack_now = 1;
    }
    if (len == 0)
        return cut;
    s->c_bytes_received += len;
    if (seq == s->rcv_nxt)
        tide_rcv_in_order(s, p, len);
    else
        tide_rcv_out_of_order(s, seq, p, len);
    return cut;
}

/* ---- sender side: ACK processing ---- */

static void tide_tcb_enter_recovery(tide_stream_t *s)
{
    s->lost_hint = tide_sb_lost_mark(s);
    s->prior_cwnd = s->cwnd;
    s->prior_ssthresh = s->ssthresh;
    s->ssthresh = s->cc->ssthresh(s);
    s->cwnd = s->ssthresh;
    s->in_recovery = 1;
    s->loss_all = 0;
    s->recover = s->snd_max;
    s->high_rxt = s->snd_una;
    s->tlp_in_flight = 0;
    TIDE_STAT(s->st, fast_recoveries);
    s->c_fast_recoveries++;
}

static void tide_tcb_exit_recovery(tide_stream_t *s)
{
    if (!s->loss_all) {
        s->cc->on_recovery_exit(s);
        uint32_t flight = tide_tcb_flight(s);
        s->cwnd = s->ssthresh < flight + s->mss ? s->ssthresh : flight + s->mss;
        if (s->cwnd < 2 * s->mss)
            s->cwnd = 2 * s->mss;
    }
    s->in_recovery = 0;
    s->loss_all = 0;
}

/* Eifel detection (RFC 3522): the ACK of a retransmitted snd_una echoes a
 * timestamp older than the retransmission, so the original arrived. */
static void tide_tcb_check_spurious(tide_stream_t *s, const tide_seg_t *seg)
{
    if (!s->rtx_una || seg->tsecr == 0 || !TIDE_SEQ_LT(seg->tsecr, (uint32_t)s->rtx_ts_us))
        return;
    TIDE_STAT(s->st, retrans_spurious);
    if (s->in_recovery && s->prior_cwnd) { /* undo (RFC 4015) */
        s->cwnd = s->prior_cwnd > s->cwnd ? s->prior_cwnd : s->cwnd;
        s->ssthresh = s->prior_ssthresh;
        s->in_recovery = 0;
        s->loss_all = 0;
        s->backoff = 0;
    }
}

/* Grow cwnd only when it limited the sender (RFC 7661 section 4.1 idea,
 * as Linux's tcp_is_cwnd_limited). */
static int tide_tcb_cwnd_limited(const tide_stream_t *s, uint32_t prior_flight)
{
    if (s->cwnd < s->ssthresh && s->cwnd < 2 * prior_flight)
        return 1;
    return prior_flight + 3 * s->mss >= s->cwnd;
}

static void tide_tcb_new_ack(tide_stream_t *s, const tide_seg_t *seg)
{
    uint32_t acked = seg->ack - s->snd_una;
    uint32_t prior_flight = tide_tcb_flight(s);
    uint64_t now = tide_tcb_now(s);
    if (seg->tsecr) {
        uint32_t rtt = (uint32_t)(now / 1000) - seg->tsecr;
        if (rtt < 60000000u)
            tide_tcb_rtt_sample(s, rtt ? rtt : 1);
    }
    tide_tcb_check_spurious(s, seg);
    s->snd_una = seg->ack;
    if (TIDE_SEQ_LT(s->snd_nxt, s->snd_una))
        s->snd_nxt = s->snd_una;
    s->c_bytes_acked += acked;
    tide_sbuf_free_acked(s);
    tide_sb_ack(s);
    s->backoff = 0;
    s->retries = 0;
    s->rtx_una = 0;
    s->dupacks = 0;
    if (s->in_recovery) {
        if (TIDE_SEQ_GEQ(s->snd_una, s->recover))
            tide_tcb_exit_recovery(s);
        else if (TIDE_SEQ_LT(s->high_rxt, s->snd_una))
            s->high_rxt = s->snd_una;
    }
    if (s->tlp_in_flight && TIDE_SEQ_GEQ(s->snd_una, s->tlp_high))
        s->tlp_in_flight = 0;
    if ((!s->in_recovery || s->loss_all) && tide_tcb_cwnd_limited(s, prior_flight))
        s->cc->on_ack(s, acked, now);
    tide_tcb_rearm_rtx(s);
}

static void tide_tcb_update_window(tide_stream_t *s, const tide_seg_t *seg)
{
    if (TIDE_SEQ_LT(s->snd_wl1, seg->seq) ||
        (s->snd_wl1 == seg->seq && TIDE_SEQ_LEQ(s->snd_wl2, seg->ack))) {
        s->snd_wnd = (uint32_t)seg->wnd << s->snd_wscale;
        s->snd_wl1 = seg->seq;
        s->snd_wl2 = seg->ack;
        if (s->snd_wnd > s->max_snd_wnd)
            s->max_snd_wnd = s->snd_wnd;
    }
}

static void tide_tcb_ack(tide_stream_t *s, const tide_seg_t *seg)
{
    tide_stream_stack_t *st = s->st;
    uint32_t old_wnd = s->snd_wnd;
    int dup = seg->ack == s->snd_una && seg->len == 0 && !(seg->flags & TIDE_SEG_FIN) &&
              tide_tcb_flight(s) > 0;
    s->probes = 0;
    if (seg->nsack)
        tide_sb_update(s, seg);
    if (TIDE_SEQ_GT(seg->ack, s->snd_una))
        tide_tcb_new_ack(s, seg);
    tide_tcb_update_window(s, seg);
    if (dup && s->snd_wnd == old_wnd) {
        s->dupacks++;
        s->c_dup_acks++;
        TIDE_STAT(st, dup_acks_in);
    }
    if (!s->in_recovery && tide_tcb_flight(s) > 0 &&
        (s->dupacks >= 3 || TIDE_SEQ_GT(tide_sb_lost_mark(s), s->snd_una)))
        tide_tcb_enter_recovery(s);
    if (s->snd_wnd > old_wnd && tide_timer_armed(&s->t_persist))
        tide_timer_cancel(&st->wheel, &s->t_persist);
    if (s->snd_wnd)
        s->persist_backoff = 0;
}

/* Our FIN (at snd_end) has been acknowledged. */
static int tide_tcb_fin_acked(const tide_stream_t *s)
{
    return s->fin_queued && TIDE_SEQ_GT(s->snd_una, s->snd_end);
}

/* ---- acceptability (RFC 9293 3.10.7.4 first step, RFC 7323 5) ---- */

static int tide_tcb_seq_ok(const tide_stream_t *s, const tide_seg_t *seg)
{
    uint32_t seglen = seg->len + !!(seg->flags & TIDE_SEG_SYN) + !!(seg->flags & TIDE_SEG_FIN);
    uint32_t wnd = tide_tcb_rcv_space(s);
    uint32_t end = s->rcv_nxt + wnd;
    if (seglen == 0)
        return wnd == 0 ? seg->seq == s->rcv_nxt : TIDE_SEQ_IN(seg->seq, s->rcv_nxt, end);
    if (wnd == 0)
        return 0;
    return TIDE_SEQ_IN(seg->seq, s->rcv_nxt, end) ||
           TIDE_SEQ_IN(seg->seq + seglen - 1, s->rcv_nxt, end);
}

/* TS.Recent older than this is no longer comparable: the microsecond
 * timestamp clock wraps its 2^31 half range in 35 minutes (RFC 7323 5.5). */
#define TIDE_PAWS_IDLE_NS (1000ull * 1000000000ull)

static int tide_tcb_ts_stale(const tide_stream_t *s)
{
    return tide_tcb_now(s) - s->ts_recent_ns > TIDE_PAWS_IDLE_NS;
}

static int tide_tcb_paws_ok(tide_stream_t *s, const tide_seg_t *seg)
{
    if ((seg->flags & TIDE_SEG_RST) || tide_tcb_ts_stale(s))
        return 1;
    uint32_t slack = (uint32_t)(tide_param_int(&tide_param_stream_paws_slack) / 1000);
    if (TIDE_SEQ_LT(seg->tsval + slack, s->ts_recent)) {
        TIDE_STAT(s->st, paws_drops);
        s->ack_now = 1;
        return 0;
    }
    return 1;
}

static void tide_tcb_update_ts(tide_stream_t *s, const tide_seg_t *seg)
{
    if ((TIDE_SEQ_GEQ(seg->tsval, s->ts_recent) || tide_tcb_ts_stale(s)) &&
        TIDE_SEQ_LEQ(seg->seq, s->last_ack_sent)) {
        s->ts_recent = seg->tsval;
        s->ts_recent_ns = tide_tcb_now(s);
    }
}

/* RFC 5961 section 3: only an RST exactly at rcv_nxt resets. */
static void tide_tcb_in_rst(tide_stream_t *s, const tide_seg_t *seg)
{
    tide_stream_stack_t *st = s->st;
    if (seg->seq != s->rcv_nxt) {
        TIDE_STAT(st, rst_out_of_window);
        tide_tcb_challenge_ack(s);
        return;
    }
    TIDE_STAT(st, rst_in);
    switch (s->state) {
    case TIDE_STREAM_SYN_RCVD: tide_tcb_fail(s, s->parent ? -ECONNRESET : -ECONNREFUSED); break;
    case TIDE_STREAM_CLOSING:
    case TIDE_STREAM_LAST_ACK:
    case TIDE_STREAM_TIME_WAIT:
        tide_tcb_timers_stop(s);
        tide_stack_conn_remove(st, s);
        tide_tcb_set_state(s, TIDE_STREAM_CLOSED);
        tide_tcb_maybe_free(s);
        break;
    default:
        TIDE_STAT(st, conn_resets);
        tide_tcb_fail(s, -ECONNRESET);
        break;
    }
}

/* RFC 5961 section 4: a SYN on a synchronized stream gets a challenge ACK;
 * a retransmitted SYN in SYN-RCVD gets the SYN-ACK again. */
static void tide_tcb_in_syn(tide_stream_t *s, const tide_seg_t *seg)
{
    if (s->state == TIDE_STREAM_SYN_RCVD && seg->seq == s->irs && !(seg->flags & TIDE_SEG_ACK)) {
        s->ts_recent = seg->tsval; /* echo the newest SYN: its RTT sample is right */
        s->ts_recent_ns = tide_tcb_now(s);
        tide_tcb_send_syn(s);
        return;
    }
    TIDE_STAT(s->st, syn_in_window);
    tide_tcb_challenge_ack(s);
}

/* SYN-RCVD + acceptable ACK: established; a passive child joins the accept
 * queue.  Returns -1 when the segment must be dropped. */
static int tide_tcb_syn_rcvd_ack(tide_stream_t *s, const tide_seg_t *seg)
{
    tide_stream_stack_t *st = s->st;
    if (!TIDE_SEQ_GT(seg->ack, s->snd_una) || TIDE_SEQ_GT(seg->ack, s->snd_max)) {
        tide_stack_send_rst_for(st, s->peer, seg);
        return -1;
    }
    tide_stream_t *p = s->parent;
    if (p) {
        if (p->acceptq_len >= p->backlog) {
            TIDE_STAT(st, accept_overflows);
            return -1; /* stay in SYN-RCVD; the SYN-ACK is retransmitted */
        }
        tide_list_del(&s->q_link);
        p->synq_len--;
        tide_list_push_back(&p->acceptq, &s->q_link);
        p->acceptq_len++;
        s->in_acceptq = 1;
    }
    s->snd_una = s->iss + 1;
    s->snd_wnd = (uint32_t)seg->wnd << s->snd_wscale;
    s->max_snd_wnd = s->snd_wnd;
    s->snd_wl1 = seg->seq;
    s->snd_wl2 = seg->ack;
    if (seg->tsecr && s->retries == 0) /* Karn: not after a SYN-ACK retransmission */
        tide_tcb_rtt_sample(s, (uint32_t)(tide_tcb_now(s) / 1000) - seg->tsecr);
    s->backoff = s->retries = 0;
    tide_timer_cancel(&st->wheel, &s->t_rtx);
    tide_tcb_set_state(s, TIDE_STREAM_ESTABLISHED);
    tide_tcb_arm_keepalive(s);
    return 0;
}

/* RFC 5961 section 5 ACK range check; 0 if acceptable. */
static int tide_tcb_ack_range(tide_stream_t *s, const tide_seg_t *seg)
{
    if (TIDE_SEQ_GT(seg->ack, s->snd_max)) {
        TIDE_STAT(s->st, ack_unsent);
        s->ack_now = 1;
        return -1;
    }
    if (TIDE_SEQ_LT(seg->ack, s->snd_una - s->max_snd_wnd - 1)) {
        TIDE_STAT(s->st, ack_too_old);
        s->ack_now = 1;
        return -1;
    }
    return 0;
}

/* Stage changes our own FIN being acknowledged brings (RFC 9293 3.10.7.4,
 * fifth step).  Returns 1 if the TCB may have been freed. */
static int tide_tcb_ack_state(tide_stream_t *s)
{
    if (!tide_tcb_fin_acked(s))
        return 0;
    switch (s->state) {
    case TIDE_STREAM_FIN_WAIT_1:
        tide_tcb_set_state(s, TIDE_STREAM_FIN_WAIT_2);
        tide_tcb_arm_fin_timeout(s);
        break;
    case TIDE_STREAM_CLOSING: tide_tcb_enter_time_wait(s); break;
    case TIDE_STREAM_LAST_ACK:
        tide_tcb_timers_stop(s);
        tide_stack_conn_remove(s->st, s);
        tide_tcb_set_state(s, TIDE_STREAM_CLOSED);
        tide_tcb_maybe_free(s);
        return 1;
    default: break;
    }
    return 0;
}

static int tide_tcb_can_receive(const tide_stream_t *s)
{
    return s->state == TIDE_STREAM_ESTABLISHED || s->state == TIDE_STREAM_FIN_WAIT_1 ||
           s->state == TIDE_STREAM_FIN_WAIT_2;
}

/* Data and FIN of an acceptable segment (RFC 9293 3.10.7.4, steps 7-8). */
static void tide_tcb_in_text(tide_stream_t *s, const tide_seg_t *seg)
{
    if (!tide_tcb_can_receive(s)) {
        if (seg->len || (seg->flags & TIDE_SEG_FIN))
            s->ack_now = 1; /* retransmission after the peer's FIN: re-ACK */
        if (s->state == TIDE_STREAM_TIME_WAIT && (seg->flags & TIDE_SEG_FIN))
            tide_tcb_enter_time_wait(s);
        return;
    }
    int cut = seg->len ? tide_tcb_data(s, seg) : 0;
    if ((seg->flags & TIDE_SEG_FIN) && cut == 0 && !s->fin_rcvd) {
        s->fin_rcvd = 1;
        s->fin_seq = seg->seq + seg->len;
    }
    if (s->fin_rcvd && !s->eof && s->fin_seq == s->rcv_nxt)
        tide_tcb_fin(s);
}

/* Simultaneous open: the peer's SYN-ACK reaches us in SYN-RCVD.  Its SYN
 * is old but its ACK completes our side (as Linux's tcp_validate_incoming). */
static int tide_tcb_simopen_synack(tide_stream_t *s, const tide_seg_t *seg)
{
    if (s->state != TIDE_STREAM_SYN_RCVD || s->parent ||
        (seg->flags & (TIDE_SEG_SYN | TIDE_SEG_ACK | TIDE_SEG_RST)) !=
            (TIDE_SEG_SYN | TIDE_SEG_ACK) ||
        seg->seq + 1 != s->rcv_nxt || seg->ack != s->snd_nxt)
        return 0;
    if (tide_tcb_syn_rcvd_ack(s, seg) == 0)
        s->ack_now = 1;
    tide_tcb_output(s);
    return 1;
}

/* Synchronized states (and SYN-RCVD). */
static void tide_tcb_in_synced(tide_stream_t *s, const tide_seg_t *seg)
{
    if (tide_tcb_simopen_synack(s, seg))
        return;
    if (s->state == TIDE_STREAM_SYN_RCVD && (seg->flags & TIDE_SEG_SYN) && seg->seq == s->irs) {
        tide_tcb_in_syn(s, seg); /* the peer's SYN again: SYN-ACK again */
        return;
    }
    if (!tide_tcb_paws_ok(s, seg))
        goto out;
    if (!tide_tcb_seq_ok(s, seg)) {
        if (!(seg->flags & TIDE_SEG_RST)) {
            if (TIDE_SEQ_LT(seg->seq + seg->len, s->rcv_nxt + 1) && seg->len)
                TIDE_STAT(s->st, dup_segs_in);
            else
                TIDE_STAT(s->st, out_of_window);
            s->ack_now = 1;
        } else {
            TIDE_STAT(s->st, rst_out_of_window);
        }
        goto out;
    }
    tide_tcb_update_ts(s, seg);
    if (seg->flags & TIDE_SEG_RST) {
        tide_tcb_in_rst(s, seg);
        return;
    }
    if (seg->flags & TIDE_SEG_SYN) {
        tide_tcb_in_syn(s, seg);
        goto out;
    }
    if (!(seg->flags & TIDE_SEG_ACK))
        goto out;
    if (s->state == TIDE_STREAM_SYN_RCVD && tide_tcb_syn_rcvd_ack(s, seg) < 0)
        goto out;
    if (tide_tcb_ack_range(s, seg) < 0)
        goto out;
    tide_tcb_ack(s, seg);
    if (tide_tcb_ack_state(s))
        return;
    tide_tcb_in_text(s, seg);
out:
    if (s->state != TIDE_STREAM_CLOSED)
        tide_tcb_output(s);
}

/* Options a SYN carries (MSS, window scale, timestamp). */
static void tide_tcb_syn_options(tide_stream_t *s, const tide_seg_t *seg)
{
    if (seg->mss && seg->mss < s->mss)
        s->mss = seg->mss;
    if (s->mss < 64)
        s->mss = 64;
    s->snd_wscale = seg->wscale > 14 ? 14 : seg->wscale;
    s->ts_recent = seg->tsval;
    s->ts_recent_ns = tide_tcb_now(s);
    s->irs = seg->seq;
    s->rcv_nxt = s->rcv_read = s->last_ack_sent = seg->seq + 1;
    s->rcv_adv = s->rcv_nxt;
    s->snd_wnd = seg->wnd; /* never scaled on a SYN (RFC 7323 2.2) */
    s->max_snd_wnd = s->snd_wnd;
    s->snd_wl1 = seg->seq;
}

/* SYN-SENT (RFC 9293 3.10.7.3). */
static void tide_tcb_in_syn_sent(tide_stream_t *s, const tide_seg_t *seg)
{
    tide_stream_stack_t *st = s->st;
    int ack_ok = 0;
    if (seg->flags & TIDE_SEG_ACK) {
        if (!TIDE_SEQ_GT(seg->ack, s->iss) || TIDE_SEQ_GT(seg->ack, s->snd_max)) {
            if (!(seg->flags & TIDE_SEG_RST))
                tide_stack_send_rst_for(st, s->peer, seg);
            return;
        }
        ack_ok = 1;
    }
    if (seg->flags & TIDE_SEG_RST) {
        if (ack_ok) {
            TIDE_STAT(st, rst_in);
            TIDE_STAT(st, attempt_fails);
            tide_tcb_fail(s, -ECONNREFUSED);
        }
        return;
    }
    if (!(seg->flags & TIDE_SEG_SYN))
        return;
    tide_tcb_syn_options(s, seg);
    if (!ack_ok) { /* simultaneous open */
        tide_tcb_set_state(s, TIDE_STREAM_SYN_RCVD);
        tide_tcb_send_syn(s);
        return;
    }
    s->snd_una = seg->ack;
    s->snd_wl2 = seg->ack;
    if (seg->tsecr)
        tide_tcb_rtt_sample(s, (uint32_t)(tide_tcb_now(s) / 1000) - seg->tsecr);
    s->backoff = s->retries = 0;
    tide_timer_cancel(&st->wheel, &s->t_rtx);
    tide_tcb_set_state(s, TIDE_STREAM_ESTABLISHED);
    tide_tcb_arm_keepalive(s);
    s->ack_now = 1;
    tide_tcb_output(s);
}

void tide_tcb_process(tide_stream_t *s, const tide_seg_t *seg)
{
    s->c_segs_in++;
    s->last_rcv_ns = tide_tcb_now(s);
    s->keep_probes = 0;
    switch (s->state) {
    case TIDE_STREAM_CLOSED:
    case TIDE_STREAM_LISTEN: break;
    case TIDE_STREAM_SYN_SENT: tide_tcb_in_syn_sent(s, seg); break;
    default: tide_tcb_in_synced(s, seg); break;
    }
}

/* ---- listener ---- */

static void tide_listen_syn(tide_stream_t *ls, uint32_t peer, const tide_seg_t *seg)
{
    tide_stream_stack_t *st = ls->st;
    if (ls->synq_len >= ls->backlog) {
        TIDE_STAT(st, synq_overflows);
        return;
    }
    tide_stream_t *c = tide_tcb_new(st, &ls->o);
    if (!c)
        return;
    c->user_closed = 1; /* orphan until accepted */
    c->peer = peer;
    c->lport = ls->lport;
    c->rport = seg->sport;
    if (tide_tcb_alloc_buffers(c) < 0 || tide_stack_port_take(st, c->lport) < 0) {
        tide_tcb_free(c);
        return;
    }
    c->bound = 1;
    if (tide_stack_conn_insert(st, c) < 0) {
        tide_tcb_free(c);
        return;
    }
    tide_tcb_init_seq(c);
    tide_tcb_syn_options(c, seg);
    c->parent = ls;
    tide_list_push_back(&ls->synq, &c->q_link);
    ls->synq_len++;
    TIDE_STAT(st, passive_opens);
    tide_tcb_set_state(c, TIDE_STREAM_SYN_RCVD);
    tide_tcb_send_syn(c);
}

static void tide_listen_input(tide_stream_t *ls, uint32_t peer, const tide_seg_t *seg)
{
    if (seg->flags & TIDE_SEG_RST)
        return;
    if (seg->flags & TIDE_SEG_ACK) {
        TIDE_STAT(ls->st, no_conn_drops);
        tide_stack_send_rst_for(ls->st, peer, seg);
        return;
    }
    if (seg->flags & TIDE_SEG_SYN)
        tide_listen_syn(ls, peer, seg);
}

/* ---- entry point ---- */

static int tide_input_peer(tide_stream_stack_t *st, tide_wire_frame_t *f, uint32_t *peer)
{
    if (f->peer != TIDE_WIRE_PEER_UNKNOWN) {
        *peer = f->peer;
        return 0;
    }
    tide_wire_addr_t a;
    int rc = tide_wire_frame_src(st->wire, f, &a);
    if (rc == 0)
        rc = tide_wire_peer_add(st->wire, &a, peer);
    return rc;
}

static int tide_tcb_backlog_add(tide_stream_t *s, tide_wire_frame_t *f, const tide_seg_t *seg)
{
    tide_stream_stack_t *st = s->st;
    if (s->bl_cnt >= s->bl_max || st->bl_total >= TIDE_BACKLOG_STACK) {
        TIDE_STAT(st, backlog_drops);
        s->c_backlog_drops++;
        return 0;
    }
    tide_backlog_ent_t *e = &s->bl[(s->bl_head + s->bl_cnt) % s->bl_max];
    e->frame = *f;
    e->seg = *seg;
    s->bl_cnt++;
    st->bl_total++;
    TIDE_STAT(st, backlog_queued);
    return 1;
}

void tide_tcb_backlog_drain(tide_stream_t *s)
{
    tide_stream_stack_t *st = s->st;
    while (s->bl_cnt) {
        tide_backlog_ent_t *e = &s->bl[s->bl_head];
        s->bl_head = (s->bl_head + 1) % s->bl_max;
        s->bl_cnt--;
        st->bl_total--;
        if (s->state != TIDE_STREAM_CLOSED)
            tide_tcb_process(s, &e->seg);
        tide_wire_recv_release(st->wire, &e->frame, 1);
    }
}

/* A SYN for a stream in TIME-WAIT with a higher sequence number may reuse it
 * (RFC 9293 3.6.1, RFC 6191).  Returns 1 if it was recycled. */
static int tide_input_tw_recycle(tide_stream_t *s, const tide_seg_t *seg)
{
    if (s->state != TIDE_STREAM_TIME_WAIT ||
        (seg->flags & (TIDE_SEG_SYN | TIDE_SEG_ACK)) != TIDE_SEG_SYN)
        return 0;
    if (!TIDE_SEQ_GT(seg->seq, s->rcv_nxt) || !tide_hash_get(&s->st->listeners, seg->dport))
        return 0;
    TIDE_STAT(s->st, time_wait_recycled);
    tide_tcb_timers_stop(s);
    tide_stack_conn_remove(s->st, s);
    tide_tcb_set_state(s, TIDE_STREAM_CLOSED);
    tide_tcb_maybe_free(s);
    return 1;
}

int tide_stream_input(tide_stream_stack_t *st, tide_wire_frame_t *f)
{
    tide_seg_t seg;
    tide_seg_err_t e = tide_seg_parse_auth(f->data, f->len, &seg, &st->mac);
    if (e != TIDE_SEG_OK) {
        if (e == TIDE_SEG_ERR_CRC)
            TIDE_STAT(st, crc_errors);
        else if (e == TIDE_SEG_ERR_MAC)
            TIDE_STAT(st, mac_drops);
        else
            TIDE_STAT(st, malformed);
        tide_trace("stream: dropped frame of %u bytes: %s", f->len, tide_seg_err_str(e));
        return 0;
    }
    if (seg.key != st->key) {
        TIDE_STAT(st, key_drops);
        return 0;
    }
    TIDE_STAT(st, seg_in);
    if (seg.len) {
        TIDE_STAT(st, data_seg_in);
        TIDE_STAT_ADD(st, bytes_in, seg.len);
    }
    uint32_t peer;
    if (tide_input_peer(st, f, &peer) < 0) {
        TIDE_STAT(st, malformed);
        return 0;
    }
    tide_stream_t *s = tide_stack_conn_lookup(st, peer, seg.dport, seg.sport);
    if (s && tide_input_tw_recycle(s, &seg))
        s = NULL;
    if (!s) {
        tide_stream_t *ls = tide_hash_get(&st->listeners, seg.dport);
        if (ls) {
            tide_listen_input(ls, peer, &seg);
        } else if (!(seg.flags & TIDE_SEG_RST)) {
            TIDE_STAT(st, no_conn_drops);
            tide_stack_send_rst_for(st, peer, &seg);
        }
        return 0;
    }
    if (s->owned)
        return tide_tcb_backlog_add(s, f, &seg);
    tide_tcb_process(s, &seg);
    return 0;
}

/* Output path: the send buffer (byte ring + descriptors), segment building
 * and the transmit decision (tide_tcb_output): RFC 6675 loss recovery
 * (pipe < cwnd, NextSeg), otherwise new data limited by cwnd and the peer's
 * window with Nagle (RFC 896) and sender-side SWS avoidance (RFC 9293
 * 3.8.6.2.1); ACKs are piggy-backed on data, else sent alone when due.
 * Every segment goes to the stack's transmit batch (tide_stack_tx), which
 * the progress loop or the releasing owner flushes in one wire burst. */
#include "config.h"
#include "stream/tcb.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

/* ---- send buffer ---- */

/* Descriptor at ring position i (0 = oldest). */
static inline tide_sdesc_t *tide_sd_at(tide_stream_t *s, uint32_t i)
{
    return &s->sd[(s->sd_head + i) % s->sd_cap];
}

static void tide_zc_complete(tide_stream_t *s, tide_stream_zc_t *zc, int status)
{
    zc->status = status;
    __atomic_store_n(&zc->done, 1, __ATOMIC_RELEASE);
    if (status == 0)
        TIDE_STAT(s->st, zc_completed);
    if (zc->cb)
        zc->cb(zc, zc->arg);
}

/* Drop acknowledged bytes from the front of the send buffer. */
void tide_sbuf_free_acked(tide_stream_t *s)
{
    while (s->sd_cnt) {
        tide_sdesc_t *d = tide_sd_at(s, 0);
        if (!TIDE_SEQ_GT(s->snd_una, d->seq))
            break;
        uint32_t n = s->snd_una - d->seq;
        if (n > d->len)
            n = d->len;
        if (!d->zc) {
            s->sb_head = (s->sb_head + n) % s->sb_cap;
            s->sb_used -= n;
        }
        d->seq += n;
        d->base += n;
        d->len -= n;
        if (d->len)
            break;
        if (d->zc) {
            tide_stack_tx_flush(s->st); /* frames may still point at it */
            tide_zc_complete(s, d->zc, 0);
        }
        s->sd_head = (s->sd_head + 1) % s->sd_cap;
        s->sd_cnt--;
    }
    if (s->sb_used == 0)
        s->sb_head = s->sb_tail = 0;
}

void tide_sbuf_fail_zc(tide_stream_t *s, int err)
{
    if (!s->sd)
        return;
    tide_stack_tx_flush(s->st);
    while (s->sd_cnt) {
        tide_sdesc_t *d = tide_sd_at(s, 0);
        if (d->zc)
            tide_zc_complete(s, d->zc, err);
        s->sd_head = (s->sd_head + 1) % s->sd_cap;
        s->sd_cnt--;
    }
}

/* Contiguous free bytes at the ring tail. */
static uint32_t tide_sbuf_contig(tide_stream_t *s)
{
    if (s->sb_used == s->sb_cap)
        return 0;
    if (s->sb_tail == s->sb_cap)
        s->sb_tail = 0;
    if (s->sb_tail >= s->sb_head && !(s->sb_used && s->sb_tail == s->sb_head))
        return s->sb_cap - s->sb_tail;
    return s->sb_head - s->sb_tail;
}

uint32_t tide_sbuf_space(const tide_stream_t *s)
{
    return s->sd_cnt + 2 >= s->sd_cap ? 0 : s->sb_cap - s->sb_used;
}

/* Copy up to len bytes from p into the send buffer; returns bytes taken. */
uint32_t tide_sbuf_append(tide_stream_t *s, const uint8_t *p, uint32_t len)
{
    uint32_t done = 0;
    while (done < len && s->sd_cnt + 1 < s->sd_cap) {
        uint32_t c = tide_sbuf_contig(s);
        if (c == 0)
            break;
        uint32_t n = c < len - done ? c : len - done;
        uint8_t *dst = s->sb_mem + s->sb_tail;
        memcpy(dst, p + done, n);
        tide_sdesc_t *last = s->sd_cnt ? tide_sd_at(s, s->sd_cnt - 1) : NULL;
        if (last && !last->zc && last->base + last->len == dst) {
            last->len += n;
        } else {
            tide_sdesc_t *d = tide_sd_at(s, s->sd_cnt++);
            d->seq = s->snd_end;
            d->len = n;
            d->base = dst;
            d->zc = NULL;
        }
        s->sb_tail += n;
        s->sb_used += n;
        s->snd_end += n;
        done += n;
    }
    return done;
}

int tide_sbuf_append_zc(tide_stream_t *s, tide_stream_zc_t *zc)
{
    if (s->sd_cnt + 1 >= s->sd_cap)
        return -EAGAIN;
    tide_sdesc_t *d = tide_sd_at(s, s->sd_cnt++);
    d->seq = s->snd_end;
    d->len = (uint32_t)zc->len;
    d->base = zc->buf;
    d->zc = zc;
    s->snd_end += (uint32_t)zc->len;
    return 0;
}

/* Gather [seq, seq+len) into at most `max` iovecs; returns bytes covered. */
static uint32_t tide_sbuf_gather(tide_stream_t *s, uint32_t seq, uint32_t len, struct iovec *iov,
                                 int max, int *cnt)
{
    uint32_t i = 0, got = 0;
    /* Start the search from the end that is closer. */
    if (seq - s->snd_una > s->snd_end - seq) {
        i = s->sd_cnt - 1;
        while (i > 0 && TIDE_SEQ_GT(tide_sd_at(s, i)->seq, seq))
            i--;
    } else {
        while (i + 1 < s->sd_cnt && TIDE_SEQ_LEQ(tide_sd_at(s, i + 1)->seq, seq))
            i++;
    }
    *cnt = 0;
    for (; i < s->sd_cnt && got < len && *cnt < max; i++) {
        tide_sdesc_t *d = tide_sd_at(s, i);
        uint32_t off = seq + got - d->seq;
        if (off >= d->len)
            continue;
        uint32_t n = d->len - off < len - got ? d->len - off : len - got;
        iov[*cnt].iov_base = (void *)(d->base + off);
        iov[*cnt].iov_len = n;
        (*cnt)++;
        got += n;
    }
    return got;
}

/* ---- segments ---- */

uint16_t tide_tcb_wnd_field(tide_stream_t *s)
{
    uint32_t space = tide_tcb_rcv_space(s);
    uint32_t w = space >> s->rcv_wscale;
    if (w > 65535)
        w = 65535;
    uint32_t right = s->rcv_nxt + (w << s->rcv_wscale);
    if (TIDE_SEQ_GT(right, s->rcv_adv))
        s->rcv_adv = right;
    if (w == 0)
        TIDE_STAT(s->st, zero_window_adv);
    return (uint16_t)w;
}

/* Fill ACK, window, timestamps and SACK blocks; the ACK is now sent. */
static void tide_tcb_fill_ack(tide_stream_t *s, tide_seg_t *seg)
{
    seg->flags |= TIDE_SEG_ACK;
    seg->ack = s->rcv_nxt;
    seg->wnd = tide_tcb_wnd_field(s);
    seg->tsval = tide_tcb_ts(s);
    seg->tsecr = s->ts_recent;
    seg->nsack = (uint8_t)tide_ooo_sack_blocks(s, seg->sack, TIDE_SEG_MAX_SACK);
    TIDE_STAT_ADD(s->st, sack_blocks_out, seg->nsack);
    s->ack_now = s->ack_pending = 0;
    s->rcv_unacked_bytes = 0;
    s->wnd_update_needed = 0;
    s->last_ack_sent = s->rcv_nxt;
    if (tide_timer_armed(&s->t_delack))
        tide_timer_cancel(&s->st->wheel, &s->t_delack);
}

static void tide_tcb_seg_init(tide_stream_t *s, tide_seg_t *seg)
{
    memset(seg, 0, sizeof(*seg));
    seg->sport = s->lport;
    seg->dport = s->rport;
    seg->key = s->st->key;
}

/* Send [seq, seq + up to maxlen) of the send buffer (FIN included when it
 * is reached).  Returns the sequence space covered (0: nothing to send). */
int tide_tcb_send_range(tide_stream_t *s, uint32_t seq, uint32_t maxlen, int rtx)
{
    struct iovec iov[TIDE_WIRE_MAX_IOV - 1];
    int cnt = 0;
    uint32_t len = 0;
    if (TIDE_SEQ_LT(seq, s->snd_end)) {
        uint32_t want = s->snd_end - seq < maxlen ? s->snd_end - seq : maxlen;
        len = tide_sbuf_gather(s, seq, want, iov, TIDE_WIRE_MAX_IOV - 1, &cnt);
    }
    int fin = s->fin_queued && seq + len == s->snd_end && (len < maxlen || len == 0);
    if (len == 0 && !fin)
        return 0;
    tide_seg_t seg;
    tide_tcb_seg_init(s, &seg);
    seg.seq = seq;
    seg.len = (uint16_t)len;
    if (fin)
        seg.flags |= TIDE_SEG_FIN;
    if (seq + len == s->snd_end)
        seg.flags |= TIDE_SEG_PSH;
    tide_tcb_fill_ack(s, &seg);
    tide_stack_tx(s->st, s->peer, &seg, iov, cnt);
    s->c_segs_out++;
    uint32_t end = seq + len + (uint32_t)fin;
    if (TIDE_SEQ_GT(end, s->snd_nxt))
        s->snd_nxt = end;
    if (TIDE_SEQ_GT(end, s->snd_max))
        s->snd_max = end;
    if (rtx) {
        TIDE_STAT(s->st, retrans_segs);
        TIDE_STAT_ADD(s->st, retrans_bytes, len);
        s->c_retrans++;
        if (seq == s->snd_una) {
            s->rtx_una = 1;
            s->rtx_ts_us = seg.tsval;
        }
    }
    tide_tcb_arm_rtx_if_needed(s);
    return (int)(len + (uint32_t)fin);
}

void tide_tcb_send_ack(tide_stream_t *s)
{
    tide_seg_t seg;
    tide_tcb_seg_init(s, &seg);
    seg.seq = s->snd_nxt;
    tide_tcb_fill_ack(s, &seg);
    tide_stack_tx(s->st, s->peer, &seg, NULL, 0);
    s->c_segs_out++;
    TIDE_STAT(s->st, pure_acks_out);
}

void tide_tcb_challenge_ack(tide_stream_t *s)
{
    tide_stream_stack_t *st = s->st;
    uint64_t sec = tide_tcb_now(s) / 1000000000ull;
    if (sec != st->chack_epoch) {
        st->chack_epoch = sec;
        st->chack_count = 0;
    }
    if (st->chack_count++ >= 1000) /* RFC 5961 section 7 */
        return;
    TIDE_STAT(st, challenge_acks);
    tide_tcb_send_ack(s);
}

/* A segment the peer must answer with an ACK: one below snd_una, no data
 * (zero-window probe and keepalive, as Linux's tcp_xmit_probe_skb). */
void tide_tcb_send_probe(tide_stream_t *s)
{
    tide_seg_t seg;
    tide_tcb_seg_init(s, &seg);
    seg.seq = s->snd_una - 1;
    tide_tcb_fill_ack(s, &seg);
    tide_stack_tx(s->st, s->peer, &seg, NULL, 0);
    s->c_segs_out++;
}

void tide_tcb_send_syn(tide_stream_t *s)
{
    tide_seg_t seg;
    tide_tcb_seg_init(s, &seg);
    seg.flags = TIDE_SEG_SYN;
    seg.seq = s->iss;
    seg.mss = (uint16_t)s->st->mss;
    seg.wscale = s->rcv_wscale;
    seg.tsval = tide_tcb_ts(s);
    uint32_t space = tide_tcb_rcv_space(s);
    seg.wnd = (uint16_t)(space > 65535 ? 65535 : space);
    if (s->state == TIDE_STREAM_SYN_RCVD) {
        seg.flags |= TIDE_SEG_ACK;
        seg.ack = s->rcv_nxt;
        seg.tsecr = s->ts_recent;
        s->last_ack_sent = s->rcv_nxt;
    }
    tide_stack_tx(s->st, s->peer, &seg, NULL, 0);
    s->c_segs_out++;
    if (TIDE_SEQ_LEQ(s->snd_nxt, s->iss))
        s->snd_nxt = s->snd_max = s->iss + 1;
    tide_tcb_arm_rtx_if_needed(s);
}

void tide_tcb_send_rst(tide_stream_t *s)
{
    tide_seg_t seg;
    tide_tcb_seg_init(s, &seg);
    seg.flags = TIDE_SEG_RST | TIDE_SEG_ACK;
    seg.seq = s->snd_nxt;
    seg.ack = s->rcv_nxt;
    seg.tsval = tide_tcb_ts(s);
    seg.tsecr = s->ts_recent;
    tide_stack_tx(s->st, s->peer, &seg, NULL, 0);
    TIDE_STAT(s->st, rst_out);
}

/* Reset answering a segment that has no connection (RFC 9293 3.10.7.1). */
void tide_stack_send_rst_for(tide_stream_stack_t *st, uint32_t peer, const tide_seg_t *in)
{
    if (in->flags & TIDE_SEG_RST)
        return;
    tide_seg_t seg;
    memset(&seg, 0, sizeof(seg));
    seg.sport = in->dport;
    seg.dport = in->sport;
    seg.key = st->key;
    seg.tsval = (uint32_t)(tide_clock_now(st->clock) / 1000);
    seg.tsecr = in->tsval;
    if (in->flags & TIDE_SEG_ACK) {
        seg.flags = TIDE_SEG_RST;
        seg.seq = in->ack;
    } else {
        seg.flags = TIDE_SEG_RST | TIDE_SEG_ACK;
        seg.ack = in->seq + in->len + !!(in->flags & TIDE_SEG_SYN) + !!(in->flags & TIDE_SEG_FIN);
    }
    tide_stack_tx(st, peer, &seg, NULL, 0);
    TIDE_STAT(st, rst_out);
}

/* Note that an ACK is owed: at once, or by the delayed-ACK timer. */
void tide_tcb_ack_event(tide_stream_t *s, int immediate)
{
    if (immediate) {
        s->ack_now = 1;
        return;
    }
    s->ack_pending = 1;
    if (!tide_timer_armed(&s->t_delack))
        tide_tcb_arm_delack(s);
}

/* ---- the transmit decision ---- */

static int tide_tcb_can_send_data(const tide_stream_t *s)
{
    switch (s->state) {
    case TIDE_STREAM_ESTABLISHED:
    case TIDE_STREAM_CLOSE_WAIT:
    case TIDE_STREAM_FIN_WAIT_1:
    case TIDE_STREAM_CLOSING:
    case TIDE_STREAM_LAST_ACK: return 1;
    default: return 0;
    }
}

/* Unsent sequence space: data plus a FIN not yet sent. */
static uint32_t tide_tcb_unsent(const tide_stream_t *s)
{
    uint32_t end = s->snd_end + (uint32_t)s->fin_queued;
    return TIDE_SEQ_LT(s->snd_nxt, end) ? end - s->snd_nxt : 0;
}

/* Room the peer's window leaves beyond snd_nxt. */
static uint32_t tide_tcb_wnd_left(const tide_stream_t *s)
{
    uint32_t right = s->snd_una + s->snd_wnd;
    return TIDE_SEQ_GT(right, s->snd_nxt) ? right - s->snd_nxt : 0;
}

/* New data: one segment if window, cwnd, Nagle and SWS allow. */
static int tide_tcb_send_new(tide_stream_t *s, int in_recovery)
{
    uint32_t unsent = tide_tcb_unsent(s);
    if (unsent == 0)
        return 0;
    uint32_t data = TIDE_SEQ_LT(s->snd_nxt, s->snd_end) ? s->snd_end - s->snd_nxt : 0;
    uint32_t wleft = tide_tcb_wnd_left(s);
    uint32_t len = data < s->mss ? data : s->mss;
    if (len > wleft)
        len = wleft;
    if (!in_recovery && tide_tcb_flight(s) >= s->cwnd)
        return 0;
    if (len == 0 && data) /* window closed: the persist timer probes */
        return 0;
    if (len < s->mss && len < data) { /* window-limited: SWS avoidance */
        if (len < s->max_snd_wnd / 2 && tide_tcb_flight(s) > 0)
            return 0;
    }
    int nagle = !s->o.nodelay && !s->o.lowlat;
    if (len < s->mss && len == data && !s->fin_queued &&
        ((nagle && tide_tcb_flight(s) > 0) || s->corked))
        return 0;
    return tide_tcb_send_range(s, s->snd_nxt, len ? len : 1, 0);
}

/* RFC 6675 section 5 step (C): while pipe < cwnd send NextSeg. */
static int tide_tcb_output_recovery(tide_stream_t *s)
{
    int sent = 0;
    for (int guard = 0; guard < 4096; guard++) {
        if (tide_sb_pipe(s) >= s->cwnd)
            break;
        uint32_t seq, len;
        if (tide_sb_next_lost(s, &seq, &len)) {
            int n = tide_tcb_send_range(s, seq, len < s->mss ? len : s->mss, 1);
            if (n <= 0)
                break;
            if (s->loss_all)
                TIDE_STAT(s->st, retrans_rto);
            else
                TIDE_STAT(s->st, retrans_fast);
            s->high_rxt = seq + (uint32_t)n;
            sent++;
            continue;
        }
        if (tide_tcb_send_new(s, 1) <= 0)
            break;
        sent++;
    }
    return sent;
}

static void tide_tcb_maybe_persist(tide_stream_t *s)
{
    uint32_t data = TIDE_SEQ_LT(s->snd_nxt, s->snd_end) ? s->snd_end - s->snd_nxt : 0;
    if (data && tide_tcb_flight(s) == 0 && tide_tcb_wnd_left(s) == 0 &&
        !tide_timer_armed(&s->t_persist))
        tide_tcb_arm_persist(s);
}

void tide_tcb_output(tide_stream_t *s)
{
    int sent = 0;
    if (tide_tcb_can_send_data(s)) {
        if (s->in_recovery) {
            sent = tide_tcb_output_recovery(s);
        } else {
            for (int guard = 0; guard < 4096; guard++) {
                if (tide_tcb_send_new(s, 0) <= 0)
                    break;
                sent++;
            }
        }
        tide_tcb_maybe_persist(s);
    }
    if (!sent && (s->ack_now || s->wnd_update_needed) && s->state != TIDE_STREAM_SYN_SENT &&
        s->state != TIDE_STREAM_CLOSED && s->state != TIDE_STREAM_LISTEN) {
        if (s->state == TIDE_STREAM_SYN_RCVD)
            tide_tcb_send_syn(s);
        else
            tide_tcb_send_ack(s);
    }
}

/* Connection timers on the stack's timer wheel:
 *   retransmission - RFC 6298 (SRTT/RTTVAR, exponential backoff, bounds
 *                    for a LAN); SYN/SYN-ACK retransmission; gives up with
 *                    -ETIMEDOUT after TIDE_STREAM_RETRIES timeouts in a row
 *   persist        - zero-window probes (RFC 9293 3.8.6.1), backed off;
 *                    unanswered probes count toward the same give-up
 *   keepalive      - idle probes, -ETIMEDOUT after KEEPCNT unanswered
 *   delayed ACK    - RFC 1122 4.2.3.2 / RFC 5681 4.2
 *   TIME-WAIT      - short (LAN) wait before the TCB is freed
 * A timer that fires while the user owns the TCB only sets a `deferred`
 * bit; tide_tcb_release runs it (Linux's TCP_*_DEFERRED flags). */
#include "config.h"
#include "stream/tcb.h"
#include "util/log.h"

#include <errno.h>

TIDE_PARAM_DEFINE(stream_rto_min, TIDE_PARAM_TIME, "STREAM_RTO_MIN", "1ms",
                  "Lower bound of the retransmission timeout (RFC 6298 2.4, LAN value)");
TIDE_PARAM_DEFINE(stream_rto_max, TIDE_PARAM_TIME, "STREAM_RTO_MAX", "2s",
                  "Upper bound of the retransmission timeout after backoff");
TIDE_PARAM_DEFINE(stream_rto_init, TIDE_PARAM_TIME, "STREAM_RTO_INIT", "100ms",
                  "Retransmission timeout before the first RTT sample (SYN included)");
TIDE_PARAM_DEFINE(stream_retries, TIDE_PARAM_INT, "STREAM_RETRIES", "15",
                  "Consecutive retransmission timeouts (or unanswered window probes) "
                  "before a stream fails with ETIMEDOUT");
TIDE_PARAM_DEFINE(stream_syn_retries, TIDE_PARAM_INT, "STREAM_SYN_RETRIES", "8",
                  "SYN / SYN-ACK retransmissions before a connect fails with ETIMEDOUT");
TIDE_PARAM_DEFINE(stream_delack, TIDE_PARAM_TIME, "STREAM_DELACK", "200us", "Delayed-ACK timeout");
TIDE_PARAM_DEFINE(stream_time_wait, TIDE_PARAM_TIME, "STREAM_TIME_WAIT", "100ms",
                  "TIME-WAIT duration (short: LAN, random ISNs, timestamps and job keys)");
TIDE_PARAM_DEFINE(stream_fin_timeout, TIDE_PARAM_TIME, "STREAM_FIN_TIMEOUT", "1s",
                  "How long a closed stream waits in FIN-WAIT-2 for the peer's FIN");
TIDE_PARAM_DEFINE(stream_init_cwnd, TIDE_PARAM_INT, "STREAM_INIT_CWND", "10",
                  "Initial congestion window in segments (RFC 6928)");

static uint64_t tide_rto_clamp(uint64_t v)
{
    uint64_t lo = (uint64_t)tide_param_int(&tide_param_stream_rto_min);
    uint64_t hi = (uint64_t)tide_param_int(&tide_param_stream_rto_max);
    return v < lo ? lo : v > hi ? hi : v;
}

/* RFC 6298 section 2.2 / 2.3; with timestamps every sample is unambiguous,
 * so Karn's rule (section 3) is met by the echo itself. */
void tide_tcb_rtt_sample(tide_stream_t *s, uint32_t rtt_us)
{
    uint64_t r = (uint64_t)(rtt_us ? rtt_us : 1) * 1000; /* 0: below the clock's grain */
    if (s->srtt_ns == 0) {
        s->srtt_ns = r;
        s->rttvar_ns = r / 2;
    } else {
        uint64_t d = s->srtt_ns > r ? s->srtt_ns - r : r - s->srtt_ns;
        s->rttvar_ns = (3 * s->rttvar_ns + d) / 4;
        s->srtt_ns = (7 * s->srtt_ns + r) / 8;
    }
    uint64_t g = s->st->wheel.tick_ns;
    s->rto_ns = tide_rto_clamp(s->srtt_ns + (4 * s->rttvar_ns > g ? 4 * s->rttvar_ns : g));
}

static uint64_t tide_tcb_rto_backed(const tide_stream_t *s)
{
    uint64_t v = s->rto_ns;
    for (uint32_t i = 0; i < s->backoff && v < (1ull << 40); i++)
        v *= 2;
    return tide_rto_clamp(v);
}

/* Outstanding sequence space that the retransmission timer guards. */
static int tide_tcb_outstanding(const tide_stream_t *s)
{
    return s->snd_max != s->snd_una;
}

/* Tail loss probe timeout (RFC 8985 section 7.2): 2 SRTT, plus the
 * delayed-ACK time when one segment is out; 0 when no probe is due. */
static uint64_t tide_tcb_pto(const tide_stream_t *s)
{
    if (!s->srtt_ns || s->in_recovery || s->tlp_in_flight || s->backoff ||
        (s->state != TIDE_STREAM_ESTABLISHED && s->state != TIDE_STREAM_CLOSE_WAIT))
        return 0;
    uint64_t pto = 2 * s->srtt_ns;
    if (tide_tcb_flight(s) <= s->mss)
        pto += (uint64_t)tide_param_int(&tide_param_stream_delack);
    uint64_t min = 2 * s->st->wheel.tick_ns;
    return pto < min ? min : pto;
}

/* Arm the retransmission timer as a PTO when a probe is due first, else
 * as the RTO (RFC 6298 5.1/5.3). */
static void tide_tcb_arm_rtx(tide_stream_t *s)
{
    uint64_t rto = tide_tcb_rto_backed(s), pto = tide_tcb_pto(s);
    s->pto_armed = pto && pto < rto;
    tide_timer_arm(&s->st->wheel, &s->t_rtx, s->pto_armed ? pto : rto);
}

void tide_tcb_rearm_rtx(tide_stream_t *s)
{
    if (tide_tcb_outstanding(s))
        tide_tcb_arm_rtx(s);
    else
        tide_timer_cancel(&s->st->wheel, &s->t_rtx);
}

void tide_tcb_arm_rtx_if_needed(tide_stream_t *s)
{
    if (!tide_timer_armed(&s->t_rtx) && tide_tcb_outstanding(s)) {
        tide_tcb_arm_rtx(s);
        if (tide_timer_armed(&s->t_persist))
            tide_timer_cancel(&s->st->wheel, &s->t_persist);
    }
}

void tide_tcb_arm_persist(tide_stream_t *s)
{
    uint64_t v = s->rto_ns;
    for (uint32_t i = 0; i < s->persist_backoff && v < (1ull << 40); i++)
        v *= 2;
    tide_timer_arm(&s->st->wheel, &s->t_persist, tide_rto_clamp(v));
}

void tide_tcb_arm_keepalive(tide_stream_t *s)
{
    if (s->o.keepalive && s->o.keepidle > 0)
        tide_timer_arm(&s->st->wheel, &s->t_keep, (uint64_t)s->o.keepidle);
}

void tide_tcb_arm_delack(tide_stream_t *s)
{
    tide_timer_arm(&s->st->wheel, &s->t_delack,
                   (uint64_t)tide_param_int(&tide_param_stream_delack));
}

void tide_tcb_enter_time_wait(tide_stream_t *s)
{
    tide_timer_wheel_t *w = &s->st->wheel;
    tide_timer_cancel(w, &s->t_rtx);
    tide_timer_cancel(w, &s->t_persist);
    tide_timer_cancel(w, &s->t_keep);
    tide_tcb_set_state(s, TIDE_STREAM_TIME_WAIT);
    tide_timer_arm(w, &s->t_tw, (uint64_t)tide_param_int(&tide_param_stream_time_wait));
}

/* A stream the user closed must not wait forever for the peer's FIN
 * (Linux's tcp_fin_timeout); the TIME-WAIT timer ends it. */
void tide_tcb_arm_fin_timeout(tide_stream_t *s)
{
    if (s->user_closed && s->state == TIDE_STREAM_FIN_WAIT_2)
        tide_timer_arm(&s->st->wheel, &s->t_tw,
                       (uint64_t)tide_param_int(&tide_param_stream_fin_timeout));
}

/* ---- handlers ---- */

static int tide_tcb_defer(tide_stream_t *s, uint32_t bit)
{
    if (!s->owned)
        return 0;
    s->deferred |= bit;
    return 1;
}

static void tide_tcb_syn_timeout(tide_stream_t *s)
{
    tide_stream_stack_t *st = s->st;
    if (++s->retries > (uint32_t)tide_param_int(&tide_param_stream_syn_retries)) {
        if (s->state == TIDE_STREAM_SYN_SENT)
            TIDE_STAT(st, attempt_fails);
        tide_tcb_fail(s, -ETIMEDOUT);
        return;
    }
    s->backoff++;
    TIDE_STAT(st, syn_retrans);
    tide_tcb_send_syn(s);
    tide_tcb_rearm_rtx(s);
}

/* RFC 6298 section 5.4-5.7 and RFC 5681 section 3.1 (loss window). */
static void tide_tcb_data_timeout(tide_stream_t *s)
{
    tide_stream_stack_t *st = s->st;
    if (!tide_tcb_outstanding(s))
        return;
    TIDE_STAT(st, rto_fires);
    s->c_rto_fires++;
    if (++s->retries > (uint32_t)tide_param_int(&tide_param_stream_retries)) {
        TIDE_STAT(st, rto_timeouts);
        tide_tcb_send_rst(s);
        tide_tcb_fail(s, -ETIMEDOUT);
        return;
    }
    if (s->retries == 1) {
        s->prior_cwnd = s->cwnd;
        s->prior_ssthresh = s->ssthresh;
        s->ssthresh = s->cc->ssthresh(s);
    }
    if (s->backoff < 30)
        s->backoff++;
    s->cwnd = s->mss;
    s->in_recovery = 1;
    s->loss_all = 1;
    s->recover = s->snd_max;
    s->high_rxt = s->snd_una;
    s->dupacks = 0;
    s->tlp_in_flight = 0;
    tide_sb_clear(s); /* the receiver may have reneged (RFC 2018 section 8) */
    int n = tide_tcb_send_range(s, s->snd_una, s->mss, 1);
    if (n > 0) {
        TIDE_STAT(st, retrans_rto);
        s->high_rxt = s->snd_una + (uint32_t)n;
    }
    tide_tcb_rearm_rtx(s);
}

/* RFC 8985 section 7.3: send new data if allowed, else resend the last
 * segment, so that the ACK (with SACK) exposes a lost tail. */
static void tide_tcb_tlp_fire(tide_stream_t *s)
{
    tide_stream_stack_t *st = s->st;
    s->tlp_in_flight = 1; /* before sending: no new PTO gets armed */
    uint32_t right = s->snd_una + s->snd_wnd;
    int n = 0;
    if (TIDE_SEQ_LT(s->snd_nxt, s->snd_end) && TIDE_SEQ_LT(s->snd_nxt, right))
        n = tide_tcb_send_range(s, s->snd_nxt, s->mss, 0);
    if (n <= 0) {
        uint32_t out = s->snd_max - s->snd_una;
        uint32_t len = out < s->mss ? out : s->mss;
        n = tide_tcb_send_range(s, s->snd_max - len, len, 1);
        if (n > 0)
            TIDE_STAT(st, retrans_tlp);
    }
    s->tlp_high = s->snd_max;
    s->pto_armed = 0;
    tide_timer_arm(&st->wheel, &s->t_rtx, tide_tcb_rto_backed(s));
}

static void tide_tcb_rtx_fire(tide_timer_t *t, void *arg)
{
    tide_stream_t *s = arg;
    (void)t;
    if (tide_tcb_defer(s, TIDE_DEFER_RTX))
        return;
    if (s->state == TIDE_STREAM_SYN_SENT || s->state == TIDE_STREAM_SYN_RCVD)
        tide_tcb_syn_timeout(s);
    else if (s->pto_armed && tide_tcb_outstanding(s))
        tide_tcb_tlp_fire(s);
    else if (s->state != TIDE_STREAM_CLOSED && s->state != TIDE_STREAM_TIME_WAIT)
        tide_tcb_data_timeout(s);
}

static void tide_tcb_persist_fire(tide_timer_t *t, void *arg)
{
    tide_stream_t *s = arg;
    (void)t;
    if (tide_tcb_defer(s, TIDE_DEFER_PERSIST))
        return;
    if (s->state == TIDE_STREAM_CLOSED || s->state == TIDE_STREAM_TIME_WAIT)
        return;
    if (s->snd_una + s->snd_wnd != s->snd_nxt && s->snd_wnd) {
        tide_tcb_output(s); /* the window opened meanwhile */
        return;
    }
    if (++s->probes > (uint32_t)tide_param_int(&tide_param_stream_retries)) {
        TIDE_STAT(s->st, probe_timeouts);
        tide_tcb_send_rst(s);
        tide_tcb_fail(s, -ETIMEDOUT);
        return;
    }
    TIDE_STAT(s->st, window_probes);
    s->c_window_probes++;
    tide_tcb_send_probe(s);
    if (s->persist_backoff < 30)
        s->persist_backoff++;
    tide_tcb_arm_persist(s);
}

static void tide_tcb_keep_fire(tide_timer_t *t, void *arg)
{
    tide_stream_t *s = arg;
    (void)t;
    if (tide_tcb_defer(s, TIDE_DEFER_KEEP))
        return;
    if (!s->o.keepalive || !tide_tcb_synced(s) || s->state == TIDE_STREAM_TIME_WAIT)
        return;
    uint64_t now = tide_tcb_now(s);
    uint64_t idle = now - s->last_rcv_ns;
    if (s->keep_probes == 0 && idle < (uint64_t)s->o.keepidle) {
        tide_timer_arm(&s->st->wheel, &s->t_keep, (uint64_t)s->o.keepidle - idle);
        return;
    }
    if (s->keep_probes >= (uint32_t)s->o.keepcnt) {
        TIDE_STAT(s->st, keepalive_timeouts);
        tide_tcb_send_rst(s);
        tide_tcb_fail(s, -ETIMEDOUT);
        return;
    }
    s->keep_probes++;
    TIDE_STAT(s->st, keepalive_probes);
    tide_tcb_send_probe(s);
    tide_timer_arm(&s->st->wheel, &s->t_keep, (uint64_t)s->o.keepintvl);
}

static void tide_tcb_delack_fire(tide_timer_t *t, void *arg)
{
    tide_stream_t *s = arg;
    (void)t;
    if (tide_tcb_defer(s, TIDE_DEFER_DELACK))
        return;
    if (s->ack_pending && tide_tcb_synced(s) && s->state != TIDE_STREAM_CLOSED) {
        TIDE_STAT(s->st, delayed_acks);
        tide_tcb_send_ack(s);
    }
}

static void tide_tcb_tw_fire(tide_timer_t *t, void *arg)
{
    tide_stream_t *s = arg;
    (void)t;
    if (s->owned) { /* the owner's release frees it */
        tide_timer_arm(&s->st->wheel, &s->t_tw, s->st->wheel.tick_ns);
        return;
    }
    tide_stack_conn_remove(s->st, s);
    tide_tcb_set_state(s, TIDE_STREAM_CLOSED);
    tide_tcb_maybe_free(s);
}

void tide_tcb_run_deferred(tide_stream_t *s)
{
    uint32_t d = s->deferred;
    s->deferred = 0;
    int owned = s->owned;
    s->owned = 0;     /* the handlers check it; the caller still holds st->lock */
    s->releasing = 1; /* ...and keeps the TCB alive */
    if (d & TIDE_DEFER_RTX)
        tide_tcb_rtx_fire(&s->t_rtx, s);
    if ((d & TIDE_DEFER_PERSIST) && s->state != TIDE_STREAM_CLOSED)
        tide_tcb_persist_fire(&s->t_persist, s);
    if ((d & TIDE_DEFER_KEEP) && s->state != TIDE_STREAM_CLOSED)
        tide_tcb_keep_fire(&s->t_keep, s);
    if ((d & TIDE_DEFER_DELACK) && s->state != TIDE_STREAM_CLOSED)
        tide_tcb_delack_fire(&s->t_delack, s);
    s->releasing = 0;
    s->owned = owned;
}

void tide_tcb_timers_init(tide_stream_t *s)
{
    tide_timer_init(&s->t_rtx, tide_tcb_rtx_fire, s);
    tide_timer_init(&s->t_persist, tide_tcb_persist_fire, s);
    tide_timer_init(&s->t_keep, tide_tcb_keep_fire, s);
    tide_timer_init(&s->t_delack, tide_tcb_delack_fire, s);
    tide_timer_init(&s->t_tw, tide_tcb_tw_fire, s);
}

void tide_tcb_timers_stop(tide_stream_t *s)
{
    tide_timer_wheel_t *w = &s->st->wheel;
    tide_timer_cancel(w, &s->t_rtx);
    tide_timer_cancel(w, &s->t_persist);
    tide_timer_cancel(w, &s->t_keep);
    tide_timer_cancel(w, &s->t_delack);
    tide_timer_cancel(w, &s->t_tw);
}

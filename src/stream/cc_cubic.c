/* CUBIC congestion control (RFC 9438): W_cubic(t) = C (t - K)^3 + W_max
 * (section 4.2) with C = 0.4 and beta_cubic = 0.7, the Reno-friendly
 * estimate W_est (section 4.3), fast convergence (section 4.7), and slow
 * start below ssthresh as NewReno.  Windows are computed in segments as a
 * double; the epoch starts at the first ACK after a congestion event. */
#include "config.h"
#include "stream/tcb.h"

#include <math.h>
#include <string.h>

#define CUBIC_C    0.4
#define CUBIC_BETA 0.7

typedef struct tide_cubic {
    double w_max, w_last_max, k, w_est;
    uint64_t epoch_ns;   /* 0: no epoch */
    uint32_t acked_frac; /* bytes toward the next +1 segment */
} tide_cubic_t;

_Static_assert(sizeof(tide_cubic_t) <= sizeof(((tide_stream_t *)0)->cc_priv), "cc_priv");

static void tide_cubic_init(tide_stream_t *s)
{
    memset(s->cc_priv, 0, sizeof(s->cc_priv));
}

static void tide_cubic_on_ack(tide_stream_t *s, uint32_t acked, uint64_t now_ns)
{
    tide_cubic_t *c = (tide_cubic_t *)s->cc_priv;
    double mss = s->mss, cwnd = s->cwnd / mss;
    if (s->cwnd < s->ssthresh) {
        s->cwnd += acked < 2 * s->mss ? acked : 2 * s->mss;
        return;
    }
    if (c->epoch_ns == 0) {
        c->epoch_ns = now_ns;
        if (c->w_max < cwnd) {
            c->k = 0;
            c->w_max = cwnd;
        } else {
            c->k = cbrt((c->w_max - cwnd) / CUBIC_C);
        }
        c->w_est = cwnd;
    }
    double rtt = s->srtt_ns ? s->srtt_ns / 1e9 : 1e-4;
    double t = (now_ns - c->epoch_ns) / 1e9;
    double target = CUBIC_C * pow(t + rtt - c->k, 3) + c->w_max;
    /* Reno-friendly region (section 4.3). */
    c->w_est += 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) * (acked / mss) / cwnd;
    if (c->w_est > target)
        target = c->w_est;
    if (target > 1.5 * cwnd)
        target = 1.5 * cwnd;
    if (target > cwnd) {
        c->acked_frac += (uint32_t)((target - cwnd) / cwnd * acked);
        if (c->acked_frac >= s->mss) {
            s->cwnd += c->acked_frac / s->mss * s->mss;
            c->acked_frac %= s->mss;
        }
    }
}

static uint32_t tide_cubic_ssthresh(tide_stream_t *s)
{
    tide_cubic_t *c = (tide_cubic_t *)s->cc_priv;
    double cwnd = (double)s->cwnd / s->mss;
    /* fast convergence (section 4.7) */
    if (cwnd < c->w_last_max)
        c->w_last_max = cwnd, c->w_max = cwnd * (1 + CUBIC_BETA) / 2;
    else
        c->w_last_max = cwnd, c->w_max = cwnd;
    c->epoch_ns = 0;
    uint32_t th = (uint32_t)(s->cwnd * CUBIC_BETA);
    return th > 2 * s->mss ? th : 2 * s->mss;
}

static void tide_cubic_exit(tide_stream_t *s)
{
    ((tide_cubic_t *)s->cc_priv)->epoch_ns = 0;
}

const tide_cc_ops_t tide_cc_cubic = {
    .name = "cubic",
    .init = tide_cubic_init,
    .on_ack = tide_cubic_on_ack,
    .ssthresh = tide_cubic_ssthresh,
    .on_recovery_exit = tide_cubic_exit,
};

/* NewReno congestion control (RFC 5681 section 3.1, RFC 6582): slow start
 * with appropriate byte counting (RFC 3465, L = 2 SMSS), congestion
 * avoidance of one SMSS per window, ssthresh = max(FlightSize / 2,
 * 2 SMSS) on loss.  Loss recovery itself (which segments to resend) is
 * SACK-based and lives in sack.c/output.c. */
#include "config.h"
#include "stream/tcb.h"

#include <string.h>

typedef struct tide_reno {
    uint32_t bytes_acked; /* congestion avoidance accumulator */
} tide_reno_t;

static void tide_reno_init(tide_stream_t *s)
{
    memset(s->cc_priv, 0, sizeof(s->cc_priv));
}

static void tide_reno_on_ack(tide_stream_t *s, uint32_t acked, uint64_t now_ns)
{
    tide_reno_t *r = (tide_reno_t *)s->cc_priv;
    (void)now_ns;
    if (s->cwnd < s->ssthresh) {
        s->cwnd += acked < 2 * s->mss ? acked : 2 * s->mss;
        return;
    }
    r->bytes_acked += acked;
    if (r->bytes_acked >= s->cwnd) {
        r->bytes_acked -= s->cwnd;
        s->cwnd += s->mss;
    }
}

static uint32_t tide_reno_ssthresh(tide_stream_t *s)
{
    uint32_t flight = tide_tcb_flight(s);
    uint32_t half = flight / 2;
    return half > 2 * s->mss ? half : 2 * s->mss;
}

static void tide_reno_exit(tide_stream_t *s)
{
    ((tide_reno_t *)s->cc_priv)->bytes_acked = 0;
}

const tide_cc_ops_t tide_cc_newreno = {
    .name = "newreno",
    .init = tide_reno_init,
    .on_ack = tide_reno_on_ack,
    .ssthresh = tide_reno_ssthresh,
    .on_recovery_exit = tide_reno_exit,
};

const tide_cc_ops_t *tide_cc_find(const char *name)
{
    if (!name || strcmp(name, "newreno") == 0 || strcmp(name, "reno") == 0)
        return &tide_cc_newreno;
    if (strcmp(name, "cubic") == 0)
        return &tide_cc_cubic;
    return NULL;
}

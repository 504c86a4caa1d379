/* Test harness for the stream engine: two stacks (a, b) on two endpoints
 * of an in-process sim network timed by a fake clock.  A hook on the net
 * captures every frame in flight (parsed, for crafted-segment tests, lwIP
 * style) and can drop frames chosen by the test; tests inject hand-made
 * segments with harness_inject.  harness_pump runs both stacks and moves
 * the clock to the next frame or timer, so everything is deterministic. */
#ifndef TIDE_TEST_STREAM_HARNESS_H
#define TIDE_TEST_STREAM_HARNESS_H

#include <stdint.h>

#include "stream/seg.h"
#include "stream/tcb.h"
#include "tide/stream.h"
#include "util/clock.h"
#include "wire/sim.h"

#define H_CAP_MAX 4096

typedef struct h_cap {
    uint16_t src, dst;
    uint64_t t;
    tide_seg_t seg;
    int ok;
} h_cap_t;

typedef struct harness harness_t;
/* Return 1 to drop this frame. */
typedef int (*h_drop_fn)(harness_t *h, const h_cap_t *c);

struct harness {
    tide_fake_clock_t fc;
    tide_sim_net_t *net;
    tide_wire_t *wa, *wb;
    tide_stream_stack_t *a, *b;
    uint16_t ea, eb; /* sim endpoint numbers */
    h_cap_t cap[H_CAP_MAX];
    int ncap;
    h_drop_fn drop;
    void *drop_arg;
    int drop_all;
    uint64_t ndata_a; /* data segments from a seen so far */
};

void harness_init(harness_t *h, uint64_t seed, const char *faults, const char *cc);
void harness_fini(harness_t *h);
/* One pass over both stacks; when idle, move the clock forward.  Returns
 * the work done. */
int harness_pump(harness_t *h);
/* Pump until cond(arg) or the fake clock has moved max_ns; 0 or -1. */
int harness_run(harness_t *h, int (*cond)(void *), void *arg, uint64_t max_ns);
/* Pump for a stretch of fake time. */
void harness_run_for(harness_t *h, uint64_t ns);
/* Connect a -> b:port (b listening); returns a's and b's streams. */
void harness_connect(harness_t *h, uint16_t port, tide_stream_t **ca, tide_stream_t **cb);
/* Put a segment on the net from a's endpoint to b's (or reverse). */
void harness_inject(harness_t *h, int from_a, const tide_seg_t *seg, const void *payload);
/* Count captured frames from a (from_a) or b matching flags mask/value. */
int harness_count(harness_t *h, int from_a, uint8_t mask, uint8_t val, int first);
const tide_stream_stats_t *hs(tide_stream_stack_t *st);

#endif

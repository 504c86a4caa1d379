/* Fault injection for the wire layer: the fault specification shared by the
 * fault-injection wrapper (faults.c, stacks on any wire) and the sim wire's
 * built-in network faults, and the small seeded random generator both use so
 * a run is reproducible from its seed.
 *
 * Syntax (TIDE_WIRE_FAULTS, or tide_wire_config_t.faults):
 *   "drop=0.01,dup=0.001,reorder=0.05,corrupt=0.0001,delay=50us,seed=7"
 * drop/dup/reorder/corrupt are per-frame probabilities in [0,1]; delay is a
 * fixed extra latency added to every frame; a reordered frame is held back an
 * extra uniform random time in (0, jitter] (jitter=, default 100us) so later
 * frames overtake it; seed= seeds the generator (default 1); side=rx|tx|both
 * says where the wrapper applies them (default rx: after the inner wire
 * received the frame, before the caller sees it).  Unknown keys are errors.
 */
#ifndef TIDE_WIRE_FAULTS_H
#define TIDE_WIRE_FAULTS_H

#include <stdint.h>

#include "wire/wire.h"

#define TIDE_WIRE_FAULT_RX 1
#define TIDE_WIRE_FAULT_TX 2

typedef struct tide_wire_fault_spec {
    double drop, dup, reorder, corrupt; /* probabilities per frame */
    uint64_t delay_ns;                  /* added to every frame */
    uint64_t jitter_ns;                 /* max extra hold of a reordered frame */
    uint64_t seed;
    int side; /* TIDE_WIRE_FAULT_RX | TIDE_WIRE_FAULT_TX */
} tide_wire_fault_spec_t;

/* Parse a fault string; NULL or "" gives the all-zero spec.  0 or -EINVAL
 * (logged, naming the bad item). */
int tide_wire_faults_parse(const char *s, tide_wire_fault_spec_t *out);
/* Non-zero when the spec injects anything. */
int tide_wire_faults_active(const tide_wire_fault_spec_t *f);

/* Stack the fault wrapper on `inner`; on success the wrapper owns inner
 * (closing the wrapper closes it).  Faults are counted in the wrapper's
 * stats (fault_*); the inner wire's own counters are added on update_stats. */
int tide_wire_faults_wrap(tide_wire_t *inner, const tide_wire_fault_spec_t *spec,
                          tide_wire_t **out);
/* The wire under a fault wrapper, or w itself when w is not one. */
tide_wire_t *tide_wire_faults_inner(tide_wire_t *w);

/* Seeded generator (splitmix64): tiny, fast, the same on every platform. */
typedef struct tide_wire_rng {
    uint64_t s;
} tide_wire_rng_t;

static inline void tide_wire_rng_seed(tide_wire_rng_t *r, uint64_t seed)
{
    r->s = seed;
}

static inline uint64_t tide_wire_rng_next(tide_wire_rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double tide_wire_rng_unit(tide_wire_rng_t *r)
{
    return (double)(tide_wire_rng_next(r) >> 11) * 0x1.0p-53;
}

/* True with probability p (draws nothing when p == 0, so adding a zero
 * fault does not change the sequence of the others). */
static inline int tide_wire_rng_chance(tide_wire_rng_t *r, double p)
{
    return p > 0 && tide_wire_rng_unit(r) < p;
}

/* Uniform in [0, n) (n > 0). */
static inline uint64_t tide_wire_rng_below(tide_wire_rng_t *r, uint64_t n)
{
    return tide_wire_rng_next(r) % n;
}

#endif

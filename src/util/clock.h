/* Clocks.  All protocol code reads time through a tide_clock_t so that unit
 * tests can drive timers with a fake clock (tide_fake_clock_t) and stay fast
 * and deterministic.  Production code uses tide_clock_mono. */
#ifndef TIDE_UTIL_CLOCK_H
#define TIDE_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

typedef struct tide_clock tide_clock_t;
struct tide_clock {
    uint64_t (*now_ns)(tide_clock_t *c);
};

typedef struct tide_fake_clock {
    tide_clock_t base; /* first: a tide_fake_clock_t * is a tide_clock_t * */
    uint64_t now;
} tide_fake_clock_t;

extern tide_clock_t tide_clock_mono;

static inline uint64_t tide_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t tide_clock_now(tide_clock_t *c)
{
    return c->now_ns(c);
}

void tide_fake_clock_init(tide_fake_clock_t *fc, uint64_t start_ns);
static inline void tide_fake_clock_advance(tide_fake_clock_t *fc, uint64_t ns)
{
    fc->now += ns;
}

#endif

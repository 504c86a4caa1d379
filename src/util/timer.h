/* A hashed timer wheel driven by a tide_clock_t.  The stream engine arms one
 * timer per purpose per connection (retransmission, persist, keepalive,
 * delayed ACK, TIME_WAIT); arming, re-arming and cancelling are O(1) and
 * never allocate (the caller embeds tide_timer_t in its object).
 *
 * Time is cut into ticks of `tick_ns`; a timer lives in slot
 * (expire_tick & (nslots-1)) and fires on the first tide_timer_wheel_run()
 * whose clock reading is at or past its expiry.  Timers further away than
 * one revolution simply stay in their slot until their tick comes round
 * (Varghese & Lauck scheme 6, "hashed wheel with sorted-free lists").
 * A timer never fires early, and every timer due at the clock reading taken
 * by run() fires in that run.  Callbacks may arm or cancel
 * any timer, including the one that fired. */
#ifndef TIDE_UTIL_TIMER_H
#define TIDE_UTIL_TIMER_H

#include <stdint.h>

#include "util/clock.h"
#include "util/list.h"

typedef struct tide_timer tide_timer_t;
typedef void (*tide_timer_fn)(tide_timer_t *t, void *arg);

struct tide_timer {
    tide_list_t link;   /* slot list membership; self-linked when idle */
    uint64_t expire_ns; /* absolute clock time */
    tide_timer_fn fn;
    void *arg;
};

typedef struct tide_timer_wheel {
    tide_clock_t *clock;
    uint64_t tick_ns;
    uint32_t nslots;   /* power of two */
    uint64_t cur_tick; /* last tick processed by run() */
    uint64_t armed;    /* number of armed timers */
    tide_list_t *slots;
} tide_timer_wheel_t;

/* tick_ns > 0; nslots rounded up to a power of two.  0 or -ENOMEM/-EINVAL. */
int tide_timer_wheel_init(tide_timer_wheel_t *w, tide_clock_t *clock, uint64_t tick_ns,
                          uint32_t nslots);
/* Armed timers are left untouched (the owner must not use them afterwards). */
void tide_timer_wheel_fini(tide_timer_wheel_t *w);

void tide_timer_init(tide_timer_t *t, tide_timer_fn fn, void *arg);
/* Arm (or re-arm) to fire at absolute time expire_ns. */
void tide_timer_arm_at(tide_timer_wheel_t *w, tide_timer_t *t, uint64_t expire_ns);
/* Arm (or re-arm) to fire delay_ns from the wheel's clock reading now. */
void tide_timer_arm(tide_timer_wheel_t *w, tide_timer_t *t, uint64_t delay_ns);
void tide_timer_cancel(tide_timer_wheel_t *w, tide_timer_t *t);

static inline int tide_timer_armed(const tide_timer_t *t)
{
    return t->link.next != &t->link;
}

/* Fire every timer due at the current clock reading.  Returns how many
 * fired. */
int tide_timer_wheel_run(tide_timer_wheel_t *w);
/* The same with a clock reading the caller already has (saves a read). */
int tide_timer_wheel_run_at(tide_timer_wheel_t *w, uint64_t now);
/* Absolute time of the earliest armed timer, or UINT64_MAX when none. */
uint64_t tide_timer_wheel_next(const tide_timer_wheel_t *w);

#endif

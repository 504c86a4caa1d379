/* Hashed timer wheel: see timer.h.  The stream stack runs it from its
 * progress function, once per pass, before pushing output. */
#include "config.h"
#include "util/timer.h"

#include <errno.h>
#include <stdlib.h>

int tide_timer_wheel_init(tide_timer_wheel_t *w, tide_clock_t *clock, uint64_t tick_ns,
                          uint32_t nslots)
{
    if (tick_ns == 0 || nslots == 0 || nslots > (1u << 24))
        return -EINVAL;
    uint32_t n = 1;
    while (n < nslots)
        n <<= 1;
    w->slots = malloc(sizeof(*w->slots) * n);
    if (!w->slots)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        tide_list_init(&w->slots[i]);
    w->clock = clock;
    w->tick_ns = tick_ns;
    w->nslots = n;
    w->cur_tick = tide_clock_now(clock) / tick_ns;
    w->armed = 0;
    return 0;
}

void tide_timer_wheel_fini(tide_timer_wheel_t *w)
{
    free(w->slots);
    w->slots = NULL;
}

void tide_timer_init(tide_timer_t *t, tide_timer_fn fn, void *arg)
{
    tide_list_init(&t->link);
    t->expire_ns = 0;
    t->fn = fn;
    t->arg = arg;
}

void tide_timer_cancel(tide_timer_wheel_t *w, tide_timer_t *t)
{
    if (!tide_timer_armed(t))
        return;
    tide_list_del(&t->link);
    w->armed--;
}

void tide_timer_arm_at(tide_timer_wheel_t *w, tide_timer_t *t, uint64_t expire_ns)
{
    tide_timer_cancel(w, t);
    t->expire_ns = expire_ns;
    /* An overdue timer goes to the current slot, which run() still scans. */
    uint64_t tick = expire_ns / w->tick_ns;
    if (tick < w->cur_tick)
        tick = w->cur_tick;
    tide_list_push_back(&w->slots[tick & (w->nslots - 1)], &t->link);
    w->armed++;
}

void tide_timer_arm(tide_timer_wheel_t *w, tide_timer_t *t, uint64_t delay_ns)
{
    tide_timer_arm_at(w, t, tide_clock_now(w->clock) + delay_ns);
}

/* Move the due timers of one slot to `due`. */
static void tide_timer_slot_collect(tide_timer_wheel_t *w, tide_list_t *slot, uint64_t now,
                                    tide_list_t *due)
{
    tide_list_t *pos, *tmp;
    tide_list_for_each_safe(pos, tmp, slot)
    {
        tide_timer_t *t = tide_container_of(pos, tide_timer_t, link);
        if (t->expire_ns <= now) {
            tide_list_del(pos);
            tide_list_push_back(due, pos);
        }
    }
}

int tide_timer_wheel_run(tide_timer_wheel_t *w)
{
    return tide_timer_wheel_run_at(w, tide_clock_now(w->clock));
}

int tide_timer_wheel_run_at(tide_timer_wheel_t *w, uint64_t now)
{
    uint64_t now_tick = now / w->tick_ns;
    if (w->armed == 0) {
        if (now_tick > w->cur_tick)
            w->cur_tick = now_tick;
        return 0;
    }
    tide_list_t due;
    tide_list_init(&due);
    {
        /* Slots of ticks [cur_tick, now_tick]; one revolution covers all.
         * cur_tick is scanned again because timers armed during it may
         * have become due since the last run. */
        uint64_t span = now_tick >= w->cur_tick ? now_tick - w->cur_tick + 1 : 1;
        if (span > w->nslots)
            span = w->nslots;
        for (uint64_t i = 0; i < span; i++)
            tide_timer_slot_collect(w, &w->slots[(w->cur_tick + i) & (w->nslots - 1)], now, &due);
    }
    if (now_tick > w->cur_tick)
        w->cur_tick = now_tick;
    int fired = 0;
    tide_list_t *n;
    while ((n = tide_list_pop_front(&due)) != NULL) {
        tide_timer_t *t = tide_container_of(n, tide_timer_t, link);
        w->armed--;
        fired++;
        t->fn(t, t->arg);
    }
    return fired;
}

/* Walk the slots from the current tick: the first slot holding a timer of
 * this revolution ends the search (nothing earlier can be in a later slot);
 * timers of later revolutions seen on the way are remembered. */
uint64_t tide_timer_wheel_next(const tide_timer_wheel_t *w)
{
    uint64_t best = UINT64_MAX;
    if (w->armed == 0)
        return best;
    for (uint32_t i = 0; i < w->nslots; i++) {
        uint64_t tick = w->cur_tick + i;
        tide_list_t *pos;
        int found = 0;
        tide_list_for_each(pos, &w->slots[tick & (w->nslots - 1)])
        {
            tide_timer_t *t = tide_container_of(pos, tide_timer_t, link);
            if (t->expire_ns < best)
                best = t->expire_ns;
            if (t->expire_ns / w->tick_ns <= tick)
                found = 1;
        }
        if (found)
            break;
    }
    return best;
}

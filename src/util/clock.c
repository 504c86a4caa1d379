/* Clocks: the monotonic system clock and a fake clock for tests. */
#include "config.h"
#include "util/clock.h"

static uint64_t tide_clock_mono_now(tide_clock_t *c)
{
    (void)c;
    return tide_time_ns();
}

tide_clock_t tide_clock_mono = {tide_clock_mono_now};

static uint64_t tide_fake_clock_now(tide_clock_t *c)
{
    return ((tide_fake_clock_t *)c)->now;
}

void tide_fake_clock_init(tide_fake_clock_t *fc, uint64_t start_ns)
{
    fc->base.now_ns = tide_fake_clock_now;
    fc->now = start_ns;
}

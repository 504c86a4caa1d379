/* Unit tests of the hashed timer wheel (src/util/timer.c) over a fake
 * clock: ordering, no early firing, re-arming from a callback, far timers
 * that wrap the wheel, cancellation and clock jumps. */
#include "config.h"
#include "util/timer.h"

#include <check.h>
#include <stdlib.h>

typedef struct rec {
    int fired;
    uint64_t at;
    tide_fake_clock_t *fc;
    tide_timer_wheel_t *w;
    int rearm; /* re-arm this many more times, 1 ms apart */
} rec_t;

static void on_fire(tide_timer_t *t, void *arg)
{
    rec_t *r = arg;
    r->fired++;
    r->at = r->fc->now;
    if (r->rearm > 0) {
        r->rearm--;
        tide_timer_arm(r->w, t, 1000000);
    }
}

static tide_fake_clock_t fc;
static tide_timer_wheel_t wh;

static void setup(void)
{
    tide_fake_clock_init(&fc, 5000000000ull);
    ck_assert_int_eq(tide_timer_wheel_init(&wh, &fc.base, 10000, 100), 0);
    ck_assert_uint_eq(wh.nslots, 128);
}

static void teardown(void)
{
    tide_timer_wheel_fini(&wh);
}

START_TEST(fires_not_early)
{
    rec_t r = {0, 0, &fc, &wh, 0};
    tide_timer_t t;
    tide_timer_init(&t, on_fire, &r);
    tide_timer_arm(&wh, &t, 55000);
    ck_assert(tide_timer_armed(&t));
    ck_assert_uint_eq(tide_timer_wheel_next(&wh), fc.now + 55000);
    for (int i = 0; i < 54; i++) {
        tide_fake_clock_advance(&fc, 1000);
        ck_assert_int_eq(tide_timer_wheel_run(&wh), 0);
    }
    tide_fake_clock_advance(&fc, 1000);
    ck_assert_int_eq(tide_timer_wheel_run(&wh), 1);
    ck_assert_int_eq(r.fired, 1);
    ck_assert(!tide_timer_armed(&t));
    ck_assert_uint_eq(tide_timer_wheel_next(&wh), UINT64_MAX);
}
END_TEST

START_TEST(far_timer_wraps_wheel)
{
    /* 128 slots x 10 us = 1.28 ms per revolution; arm 50 ms away. */
    rec_t r = {0, 0, &fc, &wh, 0};
    tide_timer_t t;
    tide_timer_init(&t, on_fire, &r);
    uint64_t due = fc.now + 50000000;
    tide_timer_arm(&wh, &t, 50000000);
    while (fc.now < due - 7000) {
        tide_fake_clock_advance(&fc, 7000);
        tide_timer_wheel_run(&wh);
        ck_assert_int_eq(r.fired, 0);
    }
    while (!r.fired) {
        tide_fake_clock_advance(&fc, 7000);
        tide_timer_wheel_run(&wh);
    }
    ck_assert_uint_ge(r.at, due);
    ck_assert_uint_lt(r.at, due + 7000);
}
END_TEST

START_TEST(clock_jump_fires_all)
{
    rec_t r[20];
    tide_timer_t t[20];
    for (int i = 0; i < 20; i++) {
        r[i] = (rec_t){0, 0, &fc, &wh, 0};
        tide_timer_init(&t[i], on_fire, &r[i]);
        tide_timer_arm(&wh, &t[i], (uint64_t)(i + 1) * 333333);
    }
    ck_assert_uint_eq(wh.armed, 20);
    tide_fake_clock_advance(&fc, 3400000); /* past the first ten */
    ck_assert_int_eq(tide_timer_wheel_run(&wh), 10);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(r[i].fired, i < 10);
    tide_fake_clock_advance(&fc, 1000000000);
    ck_assert_int_eq(tide_timer_wheel_run(&wh), 10);
    ck_assert_uint_eq(wh.armed, 0);
}
END_TEST

START_TEST(cancel_and_rearm)
{
    rec_t r = {0, 0, &fc, &wh, 3};
    rec_t c = {0, 0, &fc, &wh, 0};
    tide_timer_t t, tc;
    tide_timer_init(&t, on_fire, &r);
    tide_timer_init(&tc, on_fire, &c);
    tide_timer_arm(&wh, &tc, 500000);
    tide_timer_arm(&wh, &tc, 900000); /* re-arm moves it */
    tide_timer_arm(&wh, &t, 1000000);
    tide_fake_clock_advance(&fc, 600000);
    tide_timer_wheel_run(&wh);
    ck_assert_int_eq(c.fired, 0);
    tide_timer_cancel(&wh, &tc);
    tide_timer_cancel(&wh, &tc); /* idempotent */
    for (int i = 0; i < 100; i++) {
        tide_fake_clock_advance(&fc, 100000);
        tide_timer_wheel_run(&wh);
    }
    ck_assert_int_eq(c.fired, 0);
    ck_assert_int_eq(r.fired, 4); /* first expiry + three re-arms from the callback */
    ck_assert_uint_eq(wh.armed, 0);
}
END_TEST

START_TEST(overdue_arm_fires_next_run)
{
    rec_t r = {0, 0, &fc, &wh, 0};
    tide_timer_t t;
    tide_timer_init(&t, on_fire, &r);
    tide_fake_clock_advance(&fc, 10000000);
    tide_timer_wheel_run(&wh);
    tide_timer_arm_at(&wh, &t, fc.now - 5000000);
    ck_assert_int_eq(tide_timer_wheel_run(&wh), 1);
    tide_timer_arm(&wh, &t, 0);
    ck_assert_int_eq(tide_timer_wheel_run(&wh), 1);
    ck_assert_int_eq(r.fired, 2);
}
END_TEST

START_TEST(random_against_reference)
{
    enum { N = 300 };
    rec_t r[N];
    tide_timer_t t[N];
    uint64_t due[N];
    srand(7);
    for (int i = 0; i < N; i++) {
        r[i] = (rec_t){0, 0, &fc, &wh, 0};
        tide_timer_init(&t[i], on_fire, &r[i]);
        /* up to 4 revolutions (128 slots x 10 us) ahead */
        due[i] = fc.now + (uint64_t)(rand() % 5000000);
        tide_timer_arm_at(&wh, &t[i], due[i]);
    }
    uint64_t end = fc.now + 6000000;
    while (fc.now < end) {
        tide_fake_clock_advance(&fc, (uint64_t)(rand() % 20000));
        tide_timer_wheel_run(&wh);
        uint64_t min = UINT64_MAX;
        for (int i = 0; i < N; i++) {
            ck_assert_int_eq(r[i].fired, due[i] <= fc.now);
            if (r[i].fired)
                ck_assert_uint_ge(r[i].at, due[i]);
            else if (due[i] < min)
                min = due[i];
        }
        ck_assert_uint_eq(tide_timer_wheel_next(&wh), min);
    }
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("wheel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fires_not_early);
    tcase_add_test(tc, far_timer_wraps_wheel);
    tcase_add_test(tc, clock_jump_fires_all);
    tcase_add_test(tc, cancel_and_rearm);
    tcase_add_test(tc, overdue_arm_fires_next_run);
    tcase_add_test(tc, random_against_reference);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(timer_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

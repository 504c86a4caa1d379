# test/stream: Check suites of the stream engine and its timer wheel.
check_PROGRAMS += test/unit/timer_test
TESTS += test/unit/timer_test
test_unit_timer_test_SOURCES = test/unit/timer_test.c
test_unit_timer_test_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
test_unit_timer_test_LDADD = libtideutil.la $(CHECK_LIBS)

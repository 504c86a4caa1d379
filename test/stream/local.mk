# test/stream: Check suites of the stream engine and its timer wheel.
check_PROGRAMS += test/unit/timer_test
TESTS += test/unit/timer_test
test_unit_timer_test_SOURCES = test/unit/timer_test.c
test_unit_timer_test_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
test_unit_timer_test_LDADD = libtideutil.la $(CHECK_LIBS)

check_PROGRAMS += test/stream/stream_test
TESTS += test/stream/stream_test
test_stream_stream_test_SOURCES = test/stream/stream_test.c test/stream/harness.c \
	test/stream/harness.h
test_stream_stream_test_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
test_stream_stream_test_LDADD = libtidestream.la libtidewire.la libtideutil.la $(CHECK_LIBS)

# tide-perf and tide-stat end to end: loopback udp, and eth between namespaces.
TESTS += test/stream/t-perf-udp.sh test/stream/t-perf-eth.sh
EXTRA_DIST += test/stream/t-perf-udp.sh test/stream/t-perf-eth.sh

# Crafted segments against a capture wire (one stack, the test is the peer).
check_PROGRAMS += test/stream/crafted_test
TESTS += test/stream/crafted_test
test_stream_crafted_test_SOURCES = test/stream/crafted_test.c test/stream/capwire.c \
	test/stream/capwire.h
test_stream_crafted_test_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
test_stream_crafted_test_LDADD = libtidestream.la libtidewire.la libtideutil.la $(CHECK_LIBS)

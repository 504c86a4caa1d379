# test/hardening: hostile input and sanitizers (issue 9, items 4-5).
#   t-fuzz.sh      builds the libFuzzer targets (fuzz/) and runs each
#                  TIDE_FUZZ_SECONDS (CI: 20) seconds; skips without clang.
TESTS += test/hardening/t-fuzz.sh
EXTRA_DIST += test/hardening/t-fuzz.sh
#   hostile_test   wrong port / endpoint, RFC 5961 challenge-ACK limit, the
#                  authenticated mode (TIDE_STREAM_MAC) and p2p DATA bounds.
check_PROGRAMS += test/hardening/hostile_test
TESTS += test/hardening/hostile_test
test_hardening_hostile_test_SOURCES = test/hardening/hostile_test.c \
	test/stream/capwire.c test/stream/capwire.h test/stream/harness.c test/stream/harness.h \
	src/p2p/frame.c src/p2p/frame.h
test_hardening_hostile_test_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
test_hardening_hostile_test_LDADD = libtidestream.la libtidewire.la libtideutil.la $(CHECK_LIBS)
#   t-mac.sh       the authenticated mode end to end: tide-perf over udp under
#                  faults, refused keys (tide-stat), MPI p2p over udp and eth.
#   t-sanitize.sh  ASan+UBSan copy of libmpi: self, p2p and mt_progress; TSan
#                  copy: threaded p2p and mt_progress (progress thread with
#                  MPI_THREAD_MULTIPLE) (TIDE_SANITIZE=asan|tsan).
TESTS += test/hardening/t-mac.sh test/hardening/t-sanitize.sh
EXTRA_DIST += test/hardening/t-mac.sh test/hardening/t-sanitize.sh test/hardening/mt_progress.c
#   mac_cost       (not a test) CPU cost per segment of the MAC mode.
noinst_PROGRAMS += test/hardening/mac_cost
test_hardening_mac_cost_SOURCES = test/hardening/mac_cost.c
test_hardening_mac_cost_LDADD = libtidestream.la libtidewire.la libtideutil.la

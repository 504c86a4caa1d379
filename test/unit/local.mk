# test/unit: Check suites for src/util.
check_PROGRAMS += test/unit/util_test
test_unit_util_test_SOURCES = test/unit/util_test.c
test_unit_util_test_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
test_unit_util_test_LDADD = libtideutil.la $(CHECK_LIBS)
TESTS += test/unit/util_test

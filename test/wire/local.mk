# test/wire: wire-layer tests: Check unit tests of sim and the fault wrapper.
check_PROGRAMS += test/wire/t_sim
TESTS += test/wire/t_sim
test_wire_t_sim_SOURCES = test/wire/t_sim.c
test_wire_t_sim_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
test_wire_t_sim_LDADD = libtidewire.la libtideutil.la $(CHECK_LIBS)

# The conformance tool, run by the shell tests below against udp and eth.
check_PROGRAMS += test/wire/wire_conform
test_wire_wire_conform_SOURCES = test/wire/wire_conform.c
test_wire_wire_conform_LDADD = libtidewire.la libtideutil.la
TESTS += test/wire/t-udp.sh test/wire/t-eth.sh
EXTRA_DIST += test/wire/t-udp.sh test/wire/t-eth.sh

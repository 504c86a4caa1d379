# test/wire: wire-layer tests: Check unit tests of sim and the fault wrapper.
check_PROGRAMS += test/wire/t_sim
TESTS += test/wire/t_sim
test_wire_t_sim_SOURCES = test/wire/t_sim.c
test_wire_t_sim_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
test_wire_t_sim_LDADD = libtidewire.la $(CHECK_LIBS)

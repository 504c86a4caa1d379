# bench: build rules (see the top-level Makefile.am)

# Wire benchmark (bench/wire-bench.sh runs it between two namespaces).
noinst_PROGRAMS += bench/wire_bench
bench_wire_bench_SOURCES = bench/wire_bench.c
bench_wire_bench_LDADD = libtidewire.la libtideutil.la
EXTRA_DIST += bench/wire-bench.sh

# MPI benchmarks: plain MPI programs (they also build against Open MPI and
# MPICH); installed as sources, compiled with the installed mpicc.
benchdir = $(datadir)/tide/bench
bench_DATA = bench/bench_common.h bench/latency.c bench/bw.c
EXTRA_DIST += $(bench_DATA)

# More OSU-style MPI benchmarks (issue 8), the socket floor program and the
# comparison harness bench/compare (run by hand, never in CI).
bench_DATA += bench/bibw.c bench/mbw_mr.c bench/multi_lat.c bench/ssend_lat.c bench/overlap.c \
	bench/floor_sock.c
EXTRA_DIST += bench/compare
EXTRA_DIST += bench/netpipe.sh

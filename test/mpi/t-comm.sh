#!/usr/bin/env bash
# Communicators, groups, attributes, error handlers and info
# (test/mpi/comm.c, group.c, comm_attr.c) as singletons and under mpirun
# at 2, 4 and 6 ranks (oversubscribed) on the udp wire, once with the
# progress thread off, and MPI_ERRORS_ABORT ending a job.
. "$TIDE_SRCDIR/test/lib.sh"
progs="comm group comm_attr"
for p in $progs; do
    tide_build "test/mpi/$p.c" "$T/$p" -pthread
done
for p in $progs; do
    note "singleton $p"
    "$T/$p" || fail "$p failed as a singleton"
done
note "MPI_ERRORS_ABORT ends the job with the error class (MPI_ERR_RANK = 6)"
expect_rc 6 "$T/comm_attr" abort
[ -x "$MPIRUN" ] || skip "mpirun is not built (singleton runs passed)"
run() {
    note "mpirun $*"
    "$MPIRUN" --timeout 180 -x TIDE_WIRE=udp "$@" || fail "failed: mpirun $*"
}
for np in 2 4 6; do
    for p in $progs; do
        run -np "$np" --oversubscribe "$T/$p"
    done
done
run -np 3 --oversubscribe -x TIDE_ASYNC_PROGRESS=0 "$T/comm"
expect_rc 6 "$MPIRUN" --timeout 60 -x TIDE_WIRE=udp -np 3 --oversubscribe "$T/comm_attr" abort
assert_no_leftovers

#!/usr/bin/env bash
# Nonblocking MPI_Comm_idup(_with_info) and MPI_Comm_get_info
# (test/mpi/idup.c): as a singleton, then at 2 to 6 ranks over udp (6
# oversubscribed), once with the progress thread off, at 2 and 3 ranks also
# from three threads at once.  A blocking idup
# deadlocks in this program; mpirun's --timeout turns that into a failure.
. "$TIDE_SRCDIR/test/lib.sh"
tide_build test/mpi/idup.c "$T/idup"
"$T/idup" threads || fail "idup failed as a singleton"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
run() {
    note "mpirun $*"
    "$MPIRUN" --timeout 60 --oversubscribe -x TIDE_WIRE=udp "$@" || fail "idup failed: mpirun $*"
}
run -np 2 "$T/idup" threads
run -np 3 "$T/idup" threads
run -np 4 -x TIDE_ASYNC_PROGRESS=0 "$T/idup"
run -np 6 "$T/idup"

#!/usr/bin/env bash
# MPI_Isendrecv and MPI_Isendrecv_replace (test/mpi/isendrecv.c): as a
# singleton, at -np 2 over udp (default eager limit; a tiny one with the
# progress thread off) and at -np 3 oversubscribed.
. "$TIDE_SRCDIR/test/lib.sh"
tide_build test/mpi/isendrecv.c "$T/isendrecv"
"$T/isendrecv" || fail "isendrecv failed as a singleton"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
run() {
    note "mpirun $*"
    "$MPIRUN" --timeout 120 -x TIDE_WIRE=udp "$@" || fail "isendrecv failed: mpirun $*"
}
run -np 2 "$T/isendrecv"
run -np 2 -x TIDE_EAGER_LIMIT=256 -x TIDE_ASYNC_PROGRESS=0 "$T/isendrecv"
run -np 3 --oversubscribe "$T/isendrecv"

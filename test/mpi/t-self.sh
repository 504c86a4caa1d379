#!/usr/bin/env bash
# Point-to-point to self in every mode, and the request/probe/persistent API,
# as a singleton (MPI_COMM_WORLD and MPI_COMM_SELF, including a > 2 GiB
# message) and on MPI_COMM_SELF in every rank of a 2-rank job.
. "$TIDE_SRCDIR/test/lib.sh"
tide_build test/mpi/self.c "$T/self"
"$T/self" huge || fail "self-send test failed as a singleton"
TIDE_EAGER_LIMIT=4k "$T/self" || fail "self-send test failed with a 4 KiB eager limit"
if [ -x "$MPIRUN" ]; then
    "$MPIRUN" -np 2 "$T/self" || fail "self-send test failed under mpirun -np 2"
fi

#!/usr/bin/env bash
# Collectives and reductions (test/mpi/coll.c) as a singleton and under
# mpirun at 2, 3, 4 and 6 ranks (oversubscribed above 2), then re-run with
# the algorithm thresholds pushed to both ends so every algorithm meets
# every size and process count (short ones only; long ones even for one
# byte), and with a tiny eager limit so the large steps go by rendezvous.
. "$TIDE_SRCDIR/test/lib.sh"
tide_build test/mpi/coll.c "$T/coll"
note "singleton"
"$T/coll" || fail "collectives failed as a singleton"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
run() {
    note "mpirun $*"
    "$MPIRUN" --timeout 240 -x TIDE_WIRE=udp "$@" "$T/coll" || fail "collectives failed: mpirun $*"
}
run -np 2
run -np 3 --oversubscribe
run -np 4 --oversubscribe
run -np 6 --oversubscribe
long="-x TIDE_COLL_BCAST_LONG=1 -x TIDE_COLL_ALLREDUCE_LONG=1 -x TIDE_COLL_ALLGATHER_LONG=1"
long="$long -x TIDE_COLL_ALLTOALL_SHORT=0 -x TIDE_COLL_GATHER_SHORT=0 -x TIDE_COLL_REDUCE_LONG=1"
short="-x TIDE_COLL_BCAST_LONG=1g -x TIDE_COLL_ALLREDUCE_LONG=1g -x TIDE_COLL_ALLGATHER_LONG=1g"
short="$short -x TIDE_COLL_ALLTOALL_SHORT=1g -x TIDE_COLL_GATHER_SHORT=1g -x TIDE_COLL_REDUCE_LONG=1g"
# shellcheck disable=SC2086
run -np 5 --oversubscribe $long
# shellcheck disable=SC2086
run -np 3 --oversubscribe $short
run -np 4 --oversubscribe -x TIDE_EAGER_LIMIT=256
assert_no_leftovers

#!/usr/bin/env bash
# Process topologies and neighbourhood collectives (test/mpi/topo.c) as a
# singleton and under mpirun at 2, 3, 4 and 6 ranks (oversubscribed above
# 2), then at 4 ranks with a tiny eager limit (the 12 KB blocks go by
# rendezvous).  70 s at load 20 on 2 cores, most of it start-up.
. "$TIDE_SRCDIR/test/lib.sh"
tide_build test/mpi/topo.c "$T/topo"
note "singleton"
"$T/topo" || fail "topologies failed as a singleton"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
run() {
    note "mpirun $*"
    "$MPIRUN" --timeout 240 -x TIDE_WIRE=udp "$@" "$T/topo" || fail "topologies failed: mpirun $*"
}
run -np 2
run -np 3 --oversubscribe
run -np 4 --oversubscribe
run -np 6 --oversubscribe
run -np 4 --oversubscribe -x TIDE_EAGER_LIMIT=256
assert_no_leftovers

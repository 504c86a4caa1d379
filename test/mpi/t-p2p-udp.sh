#!/usr/bin/env bash
# Point-to-point semantics between processes over Tide's stream engine on
# the udp wire (loopback), re-run as MPICH's test lists do under other
# settings: progress thread off, tiny eager limit; 4 ranks for ANY_SOURCE.
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
tide_build test/mpi/p2p.c "$T/p2p" -pthread
run() {
    note "mpirun $*"
    "$MPIRUN" --timeout 120 -x TIDE_WIRE=udp "$@" || fail "p2p failed: mpirun $*"
}
run -np 2 "$T/p2p"
run -np 2 "$T/p2p" overlap
run -np 2 -x TIDE_ASYNC_PROGRESS=0 "$T/p2p"
run -np 2 -x TIDE_EAGER_LIMIT=256 "$T/p2p"
run -np 4 --oversubscribe "$T/p2p" anysrc order threads

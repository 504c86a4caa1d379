#!/usr/bin/env bash
# Point-to-point semantics between processes over Tide's stream engine on the
# eth wire: raw Ethernet frames across a veth pair (MTU 9000) inside a
# network namespace made for the test; rank 0 sends on one end, rank 1 on the
# other (TIDE_ETH_IF is a list indexed by local rank).  Re-run with the
# progress thread off and with a tiny eager limit, and at MTU 1500.
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces and raw sockets"
tide_build test/mpi/p2p.c "$T/p2p" -pthread
ns="tide-p2p-$$-$RANDOM"
ip netns add "$ns" || skip "cannot create a network namespace"
tide_on_exit "ip netns del $ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add ta type veth peer name tb
ip -n "$ns" link set ta mtu 9000 up
ip -n "$ns" link set tb mtu 9000 up
run() {
    note "mpirun $*"
    ip netns exec "$ns" "$MPIRUN" --timeout 120 -x TIDE_WIRE=eth -x TIDE_ETH_IF=ta,tb "$@" ||
        fail "p2p over eth failed: mpirun $*"
}
run -np 2 "$T/p2p"
run -np 2 "$T/p2p" overlap
run -np 2 -x TIDE_ASYNC_PROGRESS=0 "$T/p2p"
run -np 2 -x TIDE_EAGER_LIMIT=256 "$T/p2p"
ip -n "$ns" link set ta mtu 1500
ip -n "$ns" link set tb mtu 1500
run -np 2 "$T/p2p" order pingpong ssend
run -np 4 --oversubscribe -x TIDE_ETH_IF=ta,tb,ta,tb "$T/p2p" anysrc order

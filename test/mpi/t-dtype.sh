#!/usr/bin/env bash
# Derived datatypes: constructors, Pack/Unpack, counts, and non-contiguous
# messages through the eager and rendezvous paths (test/mpi/dtype.c) as a
# singleton (self path, with a 64 MiB strided message), at -np 2 over udp
# (default eager limit, a tiny one with small DATA chunks, progress thread
# off) and over eth between the two ends of a veth pair in a network
# namespace made for the test (MTU 9000 and 1500).  test/mpi/dtype_ext.c
# (distributed arrays for every rank of several process grids, external32)
# runs as a singleton; test/mpi/dtype_pair.c (the MINLOC/MAXLOC pair types)
# as a singleton and at -np 3 over udp.
. "$TIDE_SRCDIR/test/lib.sh"
tide_build test/mpi/dtype.c "$T/dtype"
tide_build test/mpi/dtype_ext.c "$T/dtype_ext"
tide_build test/mpi/dtype_pair.c "$T/dtype_pair"
"$T/dtype_ext" || fail "darray/external32 test failed"
"$T/dtype_pair" || fail "pair type test failed as a singleton"
"$T/dtype" big || fail "datatype test failed as a singleton"
TIDE_EAGER_LIMIT=4k "$T/dtype" || fail "datatype test failed as a singleton, 4 KiB eager limit"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
run() {
    note "mpirun $*"
    "$MPIRUN" --timeout 180 "$@" || fail "datatype test failed: mpirun $*"
}
run -np 2 -x TIDE_WIRE=udp "$T/dtype"
run -np 3 --oversubscribe -x TIDE_WIRE=udp "$T/dtype_pair"
run -np 2 -x TIDE_WIRE=udp -x TIDE_EAGER_LIMIT=256 -x TIDE_P2P_CHUNK=4k "$T/dtype"
run -np 2 -x TIDE_WIRE=udp -x TIDE_ASYNC_PROGRESS=0 "$T/dtype"
if [ "$(id -u)" != 0 ]; then
    note "not root: no eth run (network namespaces and raw sockets need root)"
    exit 0
fi
ns="tide-dt-$$-$RANDOM"
ip netns add "$ns" || skip "cannot create a network namespace"
tide_on_exit "ip netns del $ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add ta type veth peer name tb
ip -n "$ns" link set ta mtu 9000 up
ip -n "$ns" link set tb mtu 9000 up
run_eth() {
    note "mpirun (eth) $*"
    ip netns exec "$ns" "$MPIRUN" --timeout 180 -x TIDE_WIRE=eth -x TIDE_ETH_IF=ta,tb "$@" ||
        fail "datatype test over eth failed: mpirun $*"
}
run_eth -np 2 "$T/dtype"
run_eth -np 2 -x TIDE_EAGER_LIMIT=256 "$T/dtype"
ip -n "$ns" link set ta mtu 1500
ip -n "$ns" link set tb mtu 1500
run_eth -np 2 "$T/dtype"

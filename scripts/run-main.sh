#!/usr/bin/env bash
# The README's first command: set up and build Tide (scripts/setup.sh), then
# run the main job: the latency benchmark (bench/latency.c), 2 ranks started
# by Tide's mpirun, over Tide's own transport on the eth wire.  The two ranks
# use the two ends of a veth pair in a network namespace made for the run
# (and removed after it), so raw frames never touch a real network.
#   TIDE_MAIN_WIRE=udp scripts/run-main.sh   runs over loopback UDP instead
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
prefix=${TIDE_PREFIX:-$top/_install}
work=$(mktemp -d)
ns="tide-main-$$"
cleanup() {
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
"$prefix/bin/mpicc" -O2 -o "$work/latency" "$top/bench/latency.c"
wire=${TIDE_MAIN_WIRE:-eth}
echo "== main job: mpirun -np 2 latency over Tide's $wire wire"
if [ "$wire" = eth ]; then
    ip netns add "$ns"
    ip -n "$ns" link set lo up # the PMIx server listens on loopback
    ip -n "$ns" link add ta type veth peer name tb
    ip -n "$ns" link set ta mtu 9000 up
    ip -n "$ns" link set tb mtu 9000 up
    ip netns exec "$ns" "$prefix/bin/mpirun" --timeout 300 -np 2 -x TIDE_WIRE=eth \
        -x TIDE_ETH_IF=ta,tb "$work/latency" -m 0:1m
else
    "$prefix/bin/mpirun" --timeout 300 -np 2 -x TIDE_WIRE=udp "$work/latency" -m 0:1m
fi

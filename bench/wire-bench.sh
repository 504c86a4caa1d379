#!/bin/bash
# Wire benchmark between two network namespaces joined by veth pairs on a
# bridge (test/net/netlib.sh): ping-pong half round trip and one-way
# streaming for the eth and udp wires, next to a minimal raw AF_PACKET
# program (busy poll + RX ring; sendmmsg or TX ring batches).  Needs root.
#   bench/wire-bench.sh [BUILDDIR]
# env: MTU=9000 SECS=3 ITERS=20000 REPS=3, WIRE_BENCH=path of the binary,
# PIN="1 2" (CPUs for server and client; default when there are >= 4 CPUs).
# Prints a table; each cell is the median of REPS runs.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${WIRE_BENCH:-${1:-${TIDE_BUILDDIR:-$here/..}}/bench/wire_bench}
REPS=${REPS:-3}
PIN=${PIN:-}
[ -z "$PIN" ] && [ "$(nproc)" -ge 4 ] && PIN="1 2"
pin_s="" pin_c=""
if [ -n "$PIN" ] && command -v taskset >/dev/null; then
    set -- $PIN
    pin_s="taskset -c $1" pin_c="taskset -c $2"
fi
MTU=${MTU:-9000}
SECS=${SECS:-3}
ITERS=${ITERS:-20000}
[ -x "$B" ] || {
    echo "no $B: build it first (make bench/wire_bench)" >&2
    exit 2
}
TMP=$(mktemp -d)
NET_IP=1
. "$here/../test/net/netlib.sh"
trap 'net_cleanup; rm -rf "$TMP"' EXIT
net_setup 2 "$MTU" || {
    echo "cannot make network namespaces (root?)" >&2
    exit 2
}

# run1 MODE WIRE SIZE -> prints the RESULT value (first number)
run1() {
    local mode=$1 wire=$2 size=$3 a="$TMP/addr.$RANDOM"
    local dev="-d eth0" w="-w $wire"
    [ "$wire" = udp ] && dev=""
    net_bg 1 $pin_s env TIDE_UDP_ADDR=10.77.0.1 "$B" $w $dev -a "$a" -s "$size" "$mode" server >/dev/null
    local out
    out=$(net_run 2 $pin_c env TIDE_UDP_ADDR=10.77.0.2 "$B" $w $dev -a "$a" -s "$size" -n "$ITERS" \
        -T "$SECS" "$mode" client)
    wait
    echo "$out" | awk '/^RESULT/ {print $5; exit}'
}

# run MODE WIRE SIZE -> median of REPS runs
run() {
    local i
    for i in $(seq 1 "$REPS"); do run1 "$@"; done | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

ping_size=64
stream_size=$((MTU - 8))
printf "# wire benchmark: 2 namespaces, veth + bridge, MTU %s, %s cpus (pinned: %s), kernel %s, median of %s\n" \
    "$MTU" "$(nproc)" "${PIN:-no}" "$(uname -r)" "$REPS"
printf "%-22s %18s %22s\n" "carrier" "ping ${ping_size}B (us)" "stream ${stream_size}B (Gbit/s)"
raw_ping=$(run rawping raw $ping_size)
raw_mmsg=$(run rawstream raw $MTU)
raw_ring=$(run rawstream-ring raw $MTU)
printf "%-22s %18s %22s\n" "raw AF_PACKET sendmmsg" "$raw_ping" "$raw_mmsg"
printf "%-22s %18s %22s\n" "raw AF_PACKET TX ring" "-" "$raw_ring"
for wire in eth udp; do
    size=$stream_size
    [ "$wire" = udp ] && size=$((MTU - 28))
    printf "%-22s %18s %22s\n" "tide $wire" "$(run ping $wire $ping_size)" \
        "$(run stream $wire $size)"
done

#!/usr/bin/env bash
# NetPIPE 3.7.2 (Debian's source tarball, unmodified) against Tide: NPmpi is
# built with Tide's mpicc from the upstream makefile ("make mpi MPICC=...")
# and run with its integrity check (-i: every message of every size carries
# a known pattern that the receiver verifies) from 5 bytes to 8 MiB+1, past
# the eager limit into the rendezvous path:
#   - over udp on one host, with one buffer for sending and receiving
#     (NetPIPE's default);
#   - over the eth wire between two namespace hosts (mpirun --launch-agent
#     "ip netns exec", as test/cluster/t-p2p-hosts.sh), with distinct send
#     and receive pools (-I, so data that never arrived shows too);
#   - over udp under TIDE_WIRE_FAULTS (drop, duplicate, reorder, corrupt):
#     the stream engine must repair it all, up to 1 MiB;
#   - and a normal latency/bandwidth run between the two hosts whose output
#     file is parsed and sanity checked.
# First a canary proves the check is live: a PMPI library (corrupt_shim.c)
# flips one received byte, and the run must fail with NetPIPE's "Integrity
# check failed".  TIDE_SUITES_FULL=1 adds -I on udp, preposted (-a),
# ANY_SOURCE (-z) and synchronous-send (-S) integrity runs over eth up to
# 32 MiB, the faulty
# wire up to 8 MiB and a full perturbed bandwidth curve.  Skips only when
# the tarball is missing (scripts/fetch-deps.sh).
# Environment: TIDE_SUITES_FULL, TIDE_NETPIPE_TARBALL.
. "$TIDE_SRCDIR/test/lib.sh"
: "${TIDE_NETPIPE_TARBALL:=$TIDE_SRCDIR/_deps/netpipe_3.7.2.orig.tar.gz}"
[ -f "$TIDE_NETPIPE_TARBALL" ] || skip "$TIDE_NETPIPE_TARBALL is missing (run scripts/fetch-deps.sh)"
. "$TIDE_SRCDIR/test/cluster/cluster-lib.sh"
full=${TIDE_SUITES_FULL:-0}
UPPER=8388609 # the last integrity size is 2^23+1
REPS=5        # round trips per size in the CI form

# Build NPmpi out of the tarball, upstream makefile untouched.
mkdir "$T/np"
tar -xzf "$TIDE_NETPIPE_TARBALL" -C "$T/np" || fail "cannot unpack $TIDE_NETPIPE_TARBALL"
src="$T/np/NetPIPE-3.7.2"
make -C "$src" mpi MPICC="$MPICC" >"$T/build.log" 2>&1 || {
    cat "$T/build.log" >&2
    fail "NetPIPE's 'make mpi' failed with Tide's mpicc"
}
NP="$src/NPmpi"
[ -x "$NP" ] || fail "make mpi built no NPmpi"
"$MPICC" -Wall -Wextra -Werror -shared -fPIC -o "$T/corrupt_shim.so" \
    "$TIDE_SRCDIR/test/suites/corrupt_shim.c" || fail "cannot build corrupt_shim.so"

# np_run NAME LIMIT MPIRUN-ARGS... -- NPmpi-ARGS...: run NPmpi, output file
# $T/NAME.out, stdout+stderr $T/NAME.log, exit code in RC.
np_run() {
    local name=$1 limit=$2 args=()
    shift 2
    while [ "$1" != -- ]; do
        args+=("$1")
        shift
    done
    shift
    note "$name: mpirun ${args[*]} NPmpi $*"
    RC=0
    (cd "$T" && timeout -k 5 "$limit" "$MPIRUN" --timeout $((limit - 5)) "${args[@]}" \
        "$NP" -o "$T/$name.out" "$@" >"$T/$name.log" 2>&1 </dev/null) || RC=$?
}

# A passed integrity run: exit 0, no failure line, every size up to UPPER.
np_integrity_ok() { # name upper
    local name=$1 upper=$2 last
    [ "$RC" = 0 ] || { cat "$T/$name.log" >&2; fail "$name: exit $RC"; }
    ! grep -q "Integrity check failed" "$T/$name.log" || fail "$name: $(grep -m1 'Integrity' "$T/$name.log")"
    last=$(awk 'END { print $1 }' "$T/$name.out")
    [ "$last" = "$upper" ] || { cat "$T/$name.log" >&2; fail "$name: last size ${last:-none}, expected $upper"; }
    [ "$(grep -c 'Integrity check passed' "$T/$name.log")" = "$(wc -l <"$T/$name.out")" ] ||
        fail "$name: not every size reported 'Integrity check passed'"
    note "$name: $(wc -l <"$T/$name.out") sizes up to $upper bytes verified"
}

# A latency/bandwidth output file: "bytes Mbps seconds" per line, sizes
# reaching at least MIN_TOP, every number positive, latency and bandwidth
# within wide sanity bounds.
np_perf_ok() { # name min_top
    local name=$1 min_top=$2 summary
    [ "$RC" = 0 ] || { cat "$T/$name.log" >&2; fail "$name: exit $RC"; }
    ! grep -q "Integrity check failed" "$T/$name.log" || fail "$name: integrity failure"
    summary=$(awk -v top="$min_top" '
        NF != 3 || $1 !~ /^[0-9]+$/ || !($2 > 0) || !($3 > 0) { print "bad line " NR ": " $0; bad = 1; exit }
        { if ($1 + 0 > last) last = $1 + 0; if (NR == 1) lat = $3; if ($2 > bw) bw = $2; n++ }
        END {
            if (bad) exit 1
            if (n < 20) { print "only " n " sizes"; exit 1 }
            if (last < top) { print "stopped at " last " bytes"; exit 1 }
            if (lat > 0.05) { print "latency " lat * 1e6 " us"; exit 1 }
            if (bw < 8) { print "peak bandwidth " bw " Mbps"; exit 1 }
            printf "%d sizes, latency %.1f us, peak %.0f Mbps\n", n, lat * 1e6, bw
        }' "$T/$name.out") || { cat "$T/$name.log" >&2; fail "$name: $summary"; }
    note "$name: $summary"
}

# 1. The canary: one byte flipped after a rendezvous receive must fail.
# A sanitized build (test/lib.sh): ASan insists on coming first in the list
# of loaded libraries, before the preloaded shim; let it come second.
[ -z "$TIDE_SAN_CFLAGS" ] || export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
np_run canary 60 -np 2 -x LD_PRELOAD="$T/corrupt_shim.so" -- -i -n $REPS -u 300000
[ "$RC" != 0 ] || fail "canary: a corrupted message passed NetPIPE's integrity check"
grep -q "Integrity check failed" "$T/canary.log" || {
    cat "$T/canary.log" >&2
    fail "canary: exit $RC without NetPIPE's 'Integrity check failed'"
}
note "canary: $(grep -m1 'Integrity check failed' "$T/canary.log")"
assert_no_leftovers

# 2. udp on one host (one buffer); fixed repeat counts (-n) keep the time
# bounded on a loaded machine, where NetPIPE's own estimate can explode.
np_run udp 80 -np 2 -x TIDE_WIRE=udp -- -i -n $REPS -u $UPPER
np_integrity_ok udp $UPPER
if [ "$full" = 1 ]; then
    np_run udp-I 200 -np 2 -x TIDE_WIRE=udp -- -i -I -n 20 -u $UPPER
    np_integrity_ok udp-I $UPPER
fi

# 3. udp under faults.
faults="drop=0.01,dup=0.005,reorder=0.02,corrupt=0.005,seed=11"
top=1048577
[ "$full" = 1 ] && top=$UPPER
np_run faults 80 -np 2 -x TIDE_WIRE=udp -x TIDE_WIRE_FAULTS=$faults -x TIDE_STATS=1 -- \
    -i -n $REPS -u $top
np_integrity_ok faults $top
stat() { awk -v k="$1" '$1 == k { s += $2 } END { print s + 0 }' "$T/faults.log"; }
[ "$(stat crc_errors)" -gt 0 ] && [ "$(stat retrans_segs)" -gt 0 ] ||
    fail "faults: no corrupted frame dropped or no retransmission (crc_errors $(stat crc_errors), retrans_segs $(stat retrans_segs)): were faults injected?"
note "faults: repaired $(stat crc_errors) bad CRCs, $(stat retrans_segs) retransmitted segments"

# 4. eth between two namespace hosts, distinct pools (-I).
cluster_ns_setup 2 9000
H="$(cluster_hosts "1 2")"
ETH=("${NS[@]}" -x TIDE_WIRE=eth -x TIDE_ETH_IF=eth0 --host "$H")
rx() { cat "/sys/class/net/tv${NET_ID}h2/statistics/rx_bytes"; }
before=$(rx)
np_run eth 80 "${ETH[@]}" -- -i -I -n $REPS -u $UPPER
np_integrity_ok eth $UPPER
[ $(($(rx) - before)) -gt $((2 * UPPER)) ] || fail "eth: too few bytes crossed host 2's veth"
cluster_no_procs
if [ "$full" = 1 ]; then
    for opt in a z S; do
        np_run "eth-$opt" 300 "${ETH[@]}" -- -i -$opt -n 10 -u 33554433
        np_integrity_ok "eth-$opt" 33554433
        cluster_no_procs
    done
fi

# 5. latency and bandwidth between the hosts, parsed.
if [ "$full" = 1 ]; then
    np_run perf 400 "${ETH[@]}" -- -u 8388608
    np_perf_ok perf 8388608
else
    np_run perf 80 "${ETH[@]}" -- -p 0 -n 20 -u 1048576
    np_perf_ok perf 1048576
fi
cluster_no_procs
assert_no_leftovers

#!/bin/bash
# The authenticated stream mode (TIDE_STREAM_MAC=1, doc/stream.md) end to
# end, under TIDE_WIRE_FAULTS (drop, dup, reorder, corrupt):
#   - tide-perf over udp, both sides keyed alike: byte-exact, damaged frames
#     counted as CRC errors and none as MAC failures;
#   - a side without the key or with another key never gets a connection,
#     and the server counts the refused segments (mac_drops, read from the
#     running server with tide-stat);
#   - the MPI p2p test with the mode on (per-job secret from rank 0 through
#     PMIx) over udp, and over eth across a veth pair in a namespace.
# Skips when Tide was built without libsodium.
. "$TIDE_SRCDIR/test/lib.sh"
P="$TIDE_BUILDDIR/tide-perf"
S="$TIDE_BUILDDIR/tide-stat"
[ -x "$P" ] && [ -x "$S" ] || fail "build tide-perf and tide-stat first"
grep -q '^#define TIDE_HAVE_SODIUM 1' "$TIDE_BUILDDIR/config.h" ||
    skip "built without libsodium (apt-get install libsodium-dev, configure again)"
export TIDE_WIRE=udp
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
K2=ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
FAULTS="drop=0.02,dup=0.01,reorder=0.03,corrupt=0.01"
port=$((20000 + $$ % 20000))

# server KEY: a one-shot tide-perf server with the mode on, its address in $T/addr
server() {
    port=$((port + 1))
    rm -f "$T/addr"
    TIDE_STREAM_MAC=1 TIDE_STREAM_MAC_KEY=$1 TIDE_STATS=1 \
        "$P" -s -1 -p $port -A "$T/addr" >"$T/server.log" 2>&1 &
    spid=$!
    tide_on_exit "kill $spid"
    for _ in $(seq 200); do [ -s "$T/addr" ] && break; sleep 0.1; done
    [ -s "$T/addr" ] || fail "server did not start: $(cat "$T/server.log")"
}
stat_of() { awk -v k="$2" '$1 == k {s += $2} END {print s + 0}' "$1"; }

note "tide-perf, both keyed, under faults"
server $K1
TIDE_WIRE_FAULTS=$FAULTS TIDE_STREAM_MAC=1 TIDE_STREAM_MAC_KEY=$K1 TIDE_STATS=1 \
    timeout 60 "$P" -c @"$T/addr" -p $port -t 2 -V >"$T/client.log" 2>&1 ||
    { cat "$T/client.log" "$T/server.log"; fail "tide-perf with TIDE_STREAM_MAC=1"; }
wait $spid || fail "server failed: $(cat "$T/server.log")"
grep -q "verify errors 0\$" "$T/client.log" || fail "bytes differ"
cat "$T/client.log" "$T/server.log" >"$T/both.log"
[ "$(stat_of "$T/both.log" crc_errors)" -gt 0 ] || fail "no corrupted frame was caught by the CRC"
[ "$(stat_of "$T/both.log" mac_drops)" = 0 ] || fail "a damaged frame was counted as a forgery"
grep -E '^ +(crc_errors|mac_drops|retrans_segs) ' "$T/both.log" | sed 's/^/# /'

for who in "no key" "another key"; do
    note "tide-perf client with $who: refused"
    server $K1
    if [ "$who" = "no key" ]; then
        env="TIDE_STREAM_MAC=0"
    else
        env="TIDE_STREAM_MAC=1 TIDE_STREAM_MAC_KEY=$K2"
    fi
    if env $env TIDE_STREAM_SYN_RETRIES=2 timeout 30 "$P" -c @"$T/addr" -p $port -t 1 \
        >"$T/client.log" 2>&1; then
        fail "a client with $who connected: $(cat "$T/client.log")"
    fi
    # the running server's counters, as tide-stat shows them
    "$S" $spid >"$T/stat.log" 2>&1 || fail "tide-stat $spid: $(cat "$T/stat.log")"
    kill $spid 2>/dev/null
    wait $spid 2>/dev/null
    [ "$(stat_of "$T/stat.log" mac_drops)" -gt 0 ] ||
        fail "the server did not count the refused segments: $(cat "$T/stat.log")"
    grep -E '^ *mac_drops ' "$T/stat.log" | sed 's/^/# tide-stat: /'
done

[ -x "$MPIRUN" ] || skip "mpirun is not built (stream part passed)"
tide_build test/mpi/p2p.c "$T/p2p" -pthread
note "MPI p2p over udp with TIDE_STREAM_MAC=1 under faults"
"$MPIRUN" --timeout 120 -x TIDE_WIRE=udp -x TIDE_STREAM_MAC=1 -x TIDE_WIRE_FAULTS=$FAULTS \
    -x TIDE_STATS=1 -np 2 "$T/p2p" eager order pingpong ssend modes >"$T/mpi.log" 2>&1 ||
    { tail -30 "$T/mpi.log"; fail "p2p over udp with the MAC mode"; }
[ "$(stat_of "$T/mpi.log" mac_drops)" = 0 ] || fail "MAC failures between ranks of one job"
[ "$(stat_of "$T/mpi.log" crc_errors)" -gt 0 ] || fail "no corrupted frame seen (faults off?)"

[ "$(id -u)" = 0 ] || skip "needs root for the eth part (udp part passed)"
ns="tide-mac-$$-$RANDOM"
ip netns add "$ns" || skip "cannot create a network namespace (udp part passed)"
tide_on_exit "ip netns del $ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add ta type veth peer name tb
ip -n "$ns" link set ta mtu 1500 up
ip -n "$ns" link set tb mtu 1500 up
note "MPI p2p over eth (veth, MTU 1500) with TIDE_STREAM_MAC=1 under faults"
ip netns exec "$ns" "$MPIRUN" --timeout 120 -x TIDE_WIRE=eth -x TIDE_ETH_IF=ta,tb \
    -x TIDE_STREAM_MAC=1 -x TIDE_WIRE_FAULTS=$FAULTS -x TIDE_STATS=1 \
    -np 2 "$T/p2p" eager order pingpong ssend modes >"$T/eth.log" 2>&1 ||
    { tail -30 "$T/eth.log"; fail "p2p over eth with the MAC mode"; }
[ "$(stat_of "$T/eth.log" mac_drops)" = 0 ] || fail "MAC failures between ranks (eth)"

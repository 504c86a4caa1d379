#!/bin/sh
# tide-perf over the udp wire on loopback: byte-exact bandwidth (one and
# two streams, both directions), latency mode, and a run under
# TIDE_WIRE_FAULTS whose retransmissions and CRC drops tide-stat must show
# while it runs.
. "$TIDE_SRCDIR/test/lib.sh"
P="$TIDE_BUILDDIR/tide-perf"
S="$TIDE_BUILDDIR/tide-stat"
[ -x "$P" ] && [ -x "$S" ] || fail "build tide-perf and tide-stat first"
export TIDE_WIRE=udp
unset TIDE_WIRE_FAULTS

port=$((20000 + $$ % 20000))
run_pair() { # run_pair CLIENT-ARGS...
    port=$((port + 1))
    rm -f "$T/addr"
    "$P" -s -1 -p $port -A "$T/addr" >"$T/server.log" 2>&1 &
    spid=$!
    tide_on_exit "kill $spid"
    for _ in $(seq 200); do [ -s "$T/addr" ] && break; sleep 0.1; done
    [ -s "$T/addr" ] || fail "server did not start: $(cat "$T/server.log")"
    timeout 60 "$P" -c @"$T/addr" -p $port "$@" >"$T/client.log" 2>&1 || {
        cat "$T/client.log" "$T/server.log"
        fail "tide-perf $*"
    }
    wait $spid || fail "server failed: $(cat "$T/server.log")"
    cat "$T/client.log"
}

# a counter file left by a killed process is removed by the next stack
sh -c 'exit 0' &
dead=$!
wait $dead
stale=/dev/shm/tide-stat.$dead.0
: >"$stale"
tide_on_exit "rm -f $stale"

run_pair -t 1 -V
grep -q "verify errors 0\$" "$T/client.log" || fail "bytes differ"
[ -e "$stale" ] && fail "stale counter file $stale was not removed"
run_pair -t 1 -V -P 2 -R
grep -q "verify errors 0\$" "$T/client.log" || fail "bytes differ (reverse, 2 streams)"
export TIDE_STATS=1
run_pair -L -n 2000
unset TIDE_STATS
grep -q "^latency: 2000 round trips" "$T/client.log" || fail "latency mode"
grep -Eq "^ +seg_out +[1-9]" "$T/client.log" || fail "TIDE_STATS=1 printed no counters at exit"

# Under faults: byte-exact, and tide-stat sees the repairs.
export TIDE_WIRE_FAULTS="drop=0.02,reorder=0.05,dup=0.01,corrupt=0.001"
port=$((port + 1))
rm -f "$T/addr"
"$P" -s -1 -p $port -A "$T/addr" >"$T/server.log" 2>&1 &
spid=$!
tide_on_exit "kill $spid"
for _ in $(seq 200); do [ -s "$T/addr" ] && break; sleep 0.1; done
"$P" -c @"$T/addr" -p $port -t 3 -V >"$T/client.log" 2>&1 &
cpid=$!
tide_on_exit "kill $cpid"
# read the running client's counters until they show repairs
seen=0
while kill -0 $cpid 2>/dev/null; do
    if "$S" $cpid >"$T/stat.now" 2>&1; then
        cp "$T/stat.now" "$T/stat.log"
        grep -Eq "^ *retrans_segs +[1-9]" "$T/stat.log" && grep -Eq "^ *crc_errors +[1-9]" "$T/stat.log" && seen=1
        [ $seen = 1 ] && break
    fi
    sleep 0.3
done
wait $cpid || fail "client under faults: $(cat "$T/client.log")"
wait $spid || fail "server under faults: $(cat "$T/server.log")"
cat "$T/client.log"
grep -E "retrans_segs|crc_errors|rto_fires|fast_recoveries" "$T/stat.log"
grep -q "verify errors 0\$" "$T/client.log" || fail "bytes differ under faults"
grep -Eq "^ *retrans_segs +[1-9]" "$T/stat.log" || fail "tide-stat shows no retransmissions"
[ $seen = 1 ] || note "no CRC drop seen by tide-stat during the run"
ls /dev/shm/tide-stat.$cpid.* >/dev/null 2>&1 && fail "counter file left behind"
exit 0

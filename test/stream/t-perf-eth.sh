#!/bin/sh
# tide-perf over the eth wire between two network namespaces (veth on a
# bridge, test/net/netlib.sh) at MTU 9000: byte-exact without and with
# TIDE_WIRE_FAULTS=drop=0.02,reorder=0.05,dup=0.01,corrupt=0.001, and
# tide-stat shows the retransmissions and CRC drops of the faulty run.
. "$TIDE_SRCDIR/test/lib.sh"
P="$TIDE_BUILDDIR/tide-perf"
S="$TIDE_BUILDDIR/tide-stat"
[ -x "$P" ] && [ -x "$S" ] || fail "build tide-perf and tide-stat first"
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
. "$TIDE_SRCDIR/test/net/netlib.sh"
net_setup 2 9000 || skip "cannot make network namespaces with veth and a bridge here"
export TIDE_WIRE=eth
unset TIDE_WIRE_FAULTS

perf() { # perf FAULTS SECONDS -> client.log, stat.log
    rm -f "$T/addr"
    net_bg 1 env TIDE_WIRE_FAULTS="$1" "$P" -s -1 -A "$T/addr" >"$T/server.log" 2>&1
    spid=$!
    for _ in $(seq 200); do [ -s "$T/addr" ] && break; sleep 0.1; done
    [ -s "$T/addr" ] || fail "server did not start: $(cat "$T/server.log")"
    net_bg 2 env TIDE_WIRE_FAULTS="$1" "$P" -c @"$T/addr" -t "$2" -V >"$T/client.log" 2>&1
    cpid=$!
    : >"$T/stat.log"
    while kill -0 $cpid 2>/dev/null; do # the running client's counters
        "$S" $cpid >"$T/stat.now" 2>&1 && cp "$T/stat.now" "$T/stat.log"
        grep -Eq "^ *retrans_segs +[1-9]" "$T/stat.log" && grep -Eq "^ *crc_errors +[1-9]" "$T/stat.log" && break
        sleep 0.3
    done
    wait $cpid || fail "client: $(cat "$T/client.log" "$T/server.log")"
    wait $spid || fail "server: $(cat "$T/server.log")"
    cat "$T/client.log"
    grep -q "verify errors 0\$" "$T/client.log" || fail "bytes differ (faults: ${1:-none})"
}

perf "" 2
perf "drop=0.02,reorder=0.05,dup=0.01,corrupt=0.001" 3
grep -E "retrans_segs|crc_errors|rto_fires|fast_recoveries" "$T/stat.log"
grep -Eq "^ *retrans_segs +[1-9]" "$T/stat.log" || fail "tide-stat shows no retransmissions"
grep -Eq "^ *crc_errors +[1-9]" "$T/stat.log" || note "no CRC drop seen by tide-stat during the run"
exit 0

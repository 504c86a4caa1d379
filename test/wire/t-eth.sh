#!/bin/sh
# eth wire conformance between two network namespaces joined by veth pairs
# on a bridge (test/net/netlib.sh), at MTU 1500 and 9000 (jumbo): sizes
# 1..max, bursts, demux of several endpoints on one interface (across hosts
# and within one host), address round trip, -EMSGSIZE; errors for a missing
# interface and for a process without CAP_NET_RAW.
. "$TIDE_SRCDIR/test/lib.sh"
C="$TIDE_BUILDDIR/test/wire/wire_conform"
[ -x "$C" ] || fail "build test/wire/wire_conform first (make check does)"
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
. "$TIDE_SRCDIR/test/net/netlib.sh"

for mtu in 1500 9000; do
    net_cleanup
    net_setup 2 $mtu || skip "cannot make network namespaces with veth and a bridge here"
    rm -f "$T/addr"
    net_bg 1 "$C" -w eth -a "$T/addr" -n 4 -t 20 server >"$T/server.log" 2>&1
    net_run 2 "$C" -w eth -a "$T/addr" client >"$T/client.log" 2>&1 || {
        cat "$T/client.log" "$T/server.log"
        fail "eth conformance at MTU $mtu"
    }
    cat "$T/client.log"
    grep -q "max payload $((mtu - 8))\$" "$T/client.log" || fail "max payload is not MTU - 8"
    grep -q '^ok 5 - each endpoint' "$T/client.log" || fail "demux test did not run"
    wait || fail "server failed"
    net_run 1 "$C" -w eth -n 8 local || fail "eth: endpoints on one host see only their own frames"
done

# TIDE_ETH_IF as a comma list: the local rank picks its item, the last item
# serves ranks beyond the list
net_run 1 env TIDE_ETH_IF=nosuch0,eth0 "$C" -w eth -r 1 open >/dev/null || fail "rank 1 of nosuch0,eth0"
net_run 1 env TIDE_ETH_IF=nosuch0,eth0 "$C" -w eth -r 5 open >/dev/null || fail "rank 5 of nosuch0,eth0"
rc=0
net_run 1 env TIDE_ETH_IF=nosuch0,eth0 "$C" -w eth -r 0 open 2>/dev/null || rc=$?
[ "$rc" = 19 ] || fail "rank 0 of nosuch0,eth0 should get nosuch0 (ENODEV), got $rc"

# errors: a missing interface (ENODEV = 19), no CAP_NET_RAW (EPERM = 1)
rc=0
net_run 1 env TIDE_ETH_IF=nosuch0 "$C" -w eth open 2>"$T/err" || rc=$?
[ "$rc" = 19 ] || fail "missing interface: expected exit 19, got $rc"
grep -q "nosuch0" "$T/err" || fail "missing interface: message does not name it"
if command -v capsh >/dev/null 2>&1; then
    rc=0
    net_run 1 capsh --drop=cap_net_raw -- -c "exec '$C' -w eth -d eth0 open" 2>"$T/err" || rc=$?
    cat "$T/err"
    [ "$rc" = 1 ] || fail "without CAP_NET_RAW: expected exit 1 (EPERM), got $rc"
    for word in CAP_NET_RAW root "setcap cap_net_raw" TIDE_WIRE=udp; do
        grep -q "$word" "$T/err" || fail "permission error does not mention '$word'"
    done
    # the automatic rule falls back to udp without the capability
    net_run 1 capsh --drop=cap_net_raw -- -c "TIDE_WIRE=auto exec '$C' open" >"$T/out" 2>&1 ||
        fail "automatic rule without CAP_NET_RAW: $(cat "$T/out")"
    grep -q "opened udp:" "$T/out" || fail "automatic rule did not fall back to udp: $(cat "$T/out")"
else
    note "capsh not installed (libcap2-bin): permission test not run"
fi
# the automatic rule picks eth0 when allowed (in our namespace only: lib.sh
# sets TIDE_WIRE=udp so no other test touches a real NIC)
net_run 1 env TIDE_WIRE=auto "$C" open >"$T/out" 2>&1 || fail "automatic rule: $(cat "$T/out")"
grep -q "opened eth:" "$T/out" || fail "automatic rule did not pick eth: $(cat "$T/out")"
exit 0

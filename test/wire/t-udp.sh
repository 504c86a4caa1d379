#!/bin/sh
# udp wire conformance over loopback: sizes 1..max, bursts, demux over three
# endpoints, address round trip, -EMSGSIZE; error for a missing address.
. "$TIDE_SRCDIR/test/lib.sh"
C="$TIDE_BUILDDIR/test/wire/wire_conform"
[ -x "$C" ] || fail "build test/wire/wire_conform first (make check does)"

"$C" -w udp -a "$T/addr" -n 3 -t 20 server >"$T/server.log" 2>&1 &
spid=$!
tide_on_exit "kill $spid"
"$C" -w udp -a "$T/addr" client >"$T/client.log" 2>&1 || {
    cat "$T/client.log"
    fail "udp conformance client"
}
cat "$T/client.log"
grep -q '^ok 5 - each endpoint' "$T/client.log" || fail "demux test did not run"
wait $spid || fail "server exited with $?"

"$C" -w udp -n 6 local || fail "udp: endpoints in one process"

# a missing interface/address is refused with ENODEV (19) and a message
rc=0
TIDE_UDP_ADDR=no-such-if0 "$C" -w udp open 2>"$T/err" || rc=$?
[ "$rc" = 19 ] || fail "missing interface: expected exit 19 (ENODEV), got $rc"
grep -q "no-such-if0" "$T/err" || fail "missing interface: message does not name it"
# the wildcard address is refused
rc=0
TIDE_UDP_ADDR=0.0.0.0 "$C" -w udp open 2>/dev/null || rc=$?
[ "$rc" = 22 ] || fail "wildcard address: expected EINVAL, got $rc"
# IPv6 loopback works too when the host has it
if [ -e /proc/net/if_inet6 ] && grep -q '^0*1 ' /proc/net/if_inet6; then
    export TIDE_UDP_ADDR=::1
    "$C" -w udp -n 3 local || fail "udp over ::1: endpoints in one process"
    "$C" -w udp -a "$T/addr6" -n 2 -t 20 server >"$T/server6.log" 2>&1 &
    spid6=$!
    tide_on_exit "kill $spid6"
    "$C" -w udp -a "$T/addr6" client >"$T/client6.log" 2>&1 || {
        cat "$T/client6.log"
        fail "udp conformance over ::1"
    }
    grep -q "udp:\[::1\]" "$T/client6.log" || fail "not on ::1"
    wait $spid6 || fail "IPv6 server exited with $?"
else
    note "no IPv6 loopback: IPv6 not tested"
fi
exit 0

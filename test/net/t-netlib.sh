#!/bin/sh
# netlib.sh makes N hosts with the MTU asked for, runs commands in them, and
# leaves nothing behind: not on a normal exit, not when the test fails, not
# when it is killed by a signal.
. "$TIDE_SRCDIR/test/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"

# a child shell that sets up 3 hosts then ends in the way given by $1
child() {
    bash -c '
        . "$TIDE_SRCDIR/test/net/netlib.sh"
        net_setup 3 9000 || exit 3
        echo "$NET_ID" >"$1"
        [ "$(net_run 2 cat /sys/class/net/eth0/mtu)" = 9000 ] || exit 4
        net_run 3 ip link show eth0 | grep -q "state UP" || exit 5
        [ "$(net_mac 1)" != "$(net_mac 2)" ] || exit 6
        net_bg 1 bash -c "sleep 300; :" "netlib-test-$NET_ID"
        case "$2" in
        ok) exit 0 ;;
        fail) false; exit 1 ;;
        signal) kill -TERM $$; sleep 5 ;;
        esac
    ' child "$T/id" "$1"
}
leftovers() {
    id=$(cat "$T/id")
    ip netns list | grep -q "tide-$id-" && return 0
    ip link show "tb$id" >/dev/null 2>&1 && return 0
    pgrep -f "netlib-test-$id" >/dev/null && return 0
    return 1
}
for how in ok fail signal; do
    rc=0
    child $how || rc=$?
    case $how in
    ok) [ $rc = 0 ] || fail "setup or checks failed (exit $rc)" ;;
    fail) [ $rc = 1 ] || fail "expected the failing child to exit 1, got $rc" ;;
    signal) [ $rc -ne 0 ] || fail "the killed child exited 0" ;;
    esac
    [ -s "$T/id" ] || skip "network namespaces not available"
    if leftovers; then fail "netlib left things behind after '$how'"; fi
    rm -f "$T/id"
done
exit 0

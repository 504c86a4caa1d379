# Test hosts for multi-host tests: N network namespaces, each with one veth
# ("eth0" inside) whose other end sits on a Linux bridge, all made with a
# random suffix so tests can run in parallel, and all removed again when the
# shell exits (normal exit, failure or interrupt).  Needs root.
#
#   . "$TIDE_SRCDIR/test/net/netlib.sh"
#   net_setup 2 9000        # hosts 1 and 2, MTU 9000; NET_IP=1 also gives
#                           # them 10.77.0.<i>/24 (for udp)
#   net_run 1 cmd args...   # run a command on host 1 (foreground)
#   net_bg 2 cmd args...    # run it in the background; killed at cleanup
#   net_ns 1 / net_if 1 / net_ip 1 / net_mac 1
#   net_cleanup             # also done automatically on exit
#
# Sourced after test/lib.sh the cleanup joins its exit hooks; on its own it
# sets its own EXIT/INT/TERM trap.
NET_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NET_N=0
NET_BR="tb$NET_ID"
NET_IP=${NET_IP:-0}

net_ns() { echo "tide-$NET_ID-h$1"; }
net_if() { echo eth0; }
net_ip() { echo "10.77.0.$1"; }
net_mac() { ip netns exec "$(net_ns "$1")" cat /sys/class/net/eth0/address; }
net_run() {
    local h=$1
    shift
    ip netns exec "$(net_ns "$h")" "$@"
}
net_bg() {
    local h=$1
    shift
    ip netns exec "$(net_ns "$h")" "$@" &
}

net_cleanup() {
    local i ns pids
    for i in $(seq 1 "$NET_N"); do
        ns=$(net_ns "$i")
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$pids" ] && kill $pids 2>/dev/null
    done
    [ "$NET_N" -gt 0 ] && sleep 0.1
    for i in $(seq 1 "$NET_N"); do
        ns=$(net_ns "$i")
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$pids" ] && kill -9 $pids 2>/dev/null
        ip netns del "$ns" 2>/dev/null
        ip link del "tv${NET_ID}h$i" 2>/dev/null
    done
    ip link del "$NET_BR" 2>/dev/null
    NET_N=0
    return 0
}

if command -v tide_on_exit >/dev/null 2>&1; then
    tide_on_exit net_cleanup
else
    trap 'net_cleanup' EXIT
    trap 'exit 130' INT TERM
fi

# net_setup N [MTU]: make hosts 1..N.  Returns non-zero (after cleaning up)
# if the kernel refuses (not root, no netns/veth/bridge support).
net_setup() {
    local n=$1 mtu=${2:-1500} i ns veth
    [ "$(id -u)" = 0 ] || {
        echo "netlib: needs root (network namespaces)" >&2
        return 1
    }
    ip link add "$NET_BR" type bridge || return 1
    ip link set "$NET_BR" mtu "$mtu" up || return 1
    for i in $(seq 1 "$n"); do
        ns=$(net_ns "$i")
        veth="tv${NET_ID}h$i"
        ip netns add "$ns" || return 1
        NET_N=$i
        ip link add "$veth" mtu "$mtu" type veth peer name eth0 netns "$ns" || return 1
        ip link set "$veth" master "$NET_BR" up || return 1
        net_run "$i" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
        net_run "$i" ip link set lo up || return 1
        net_run "$i" ip link set eth0 mtu "$mtu" up || return 1
        if [ "$NET_IP" = 1 ]; then
            net_run "$i" ip addr add "$(net_ip "$i")/24" dev eth0 || return 1
        fi
    done
    # wait until the links are up (carrier on both ends)
    for i in $(seq 1 "$n"); do
        local t=0
        until net_run "$i" grep -q 1 /sys/class/net/eth0/carrier 2>/dev/null; do
            t=$((t + 1))
            [ $t -gt 50 ] && return 1
            sleep 0.1
        done
    done
    return 0
}

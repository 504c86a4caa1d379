# Helpers for the multi-host mpirun tests (test/cluster/t-*.sh), on top of
# test/lib.sh and test/launch/launch-lib.sh.
#
# Two kinds of hosts:
#  - fake hosts (no root): any names, started on this machine by a launch
#    agent that drops the host name ($T/agent, which logs it to
#    $T/agent.log); enough for mapping, protocol, Slurm's srun line;
#  - real test hosts: network namespaces on a bridge (test/net/netlib.sh),
#    reached with --launch-agent "ip netns exec"; each has eth0, so
#    TIDE_ETH_IF=eth0 is right on every host.
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"

# The fake agent: "agent HOST command..." runs command here.
cluster_fake_agent() {
    cat >"$T/agent" <<AGENT
#!/bin/sh
echo "\$1" >>"$T/agent.log"
shift
exec "\$@"
AGENT
    chmod +x "$T/agent"
    FAKE=(--launch-agent "$T/agent")
}

# cluster_ns_setup N [MTU]: N namespaces, or skip.
cluster_ns_setup() {
    [ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
    . "$TIDE_SRCDIR/test/net/netlib.sh"
    net_setup "$@" || skip "cannot make network namespaces, veths and a bridge"
    NS=(--launch-agent "ip netns exec")
    # ranks on different hosts can only meet through the veths: eth wire
    # (udp on loopback stays inside one namespace)
    export TIDE_WIRE=eth TIDE_ETH_IF=eth0
}

# cluster_hosts "1:2 2:2" -> "<ns of 1>:2,<ns of 2>:2"
cluster_hosts() {
    local out="" h name
    for h in $1; do
        name=$(net_ns "${h%%:*}")
        case "$h" in *:*) name="$name:${h#*:}" ;; esac
        out="$out${out:+,}$name"
    done
    echo "$out"
}

# No process may be left in any test namespace (waits up to 5 s).
cluster_no_procs() {
    local i t pids
    for i in $(seq 1 "$NET_N"); do
        t=0
        while pids=$(ip netns pids "$(net_ns "$i")" 2>/dev/null) && [ -n "$pids" ]; do
            t=$((t + 1))
            [ $t -le 50 ] || fail "processes left in host $i: $(ps -o pid,args -p "$(echo $pids | tr ' ' ,)")"
            sleep 0.1
        done
    done
}

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

# No process may be left in any test namespace (waits up to 5 s); the
# pids given as arguments (servers the test itself runs there, like sshd)
# may stay.
cluster_no_procs() {
    local i t pids
    for i in $(seq 1 "$NET_N"); do
        t=0
        while pids=$(ip netns pids "$(net_ns "$i")" 2>/dev/null | grep -vxF -e "${1:-x}" "${@/#/-e}") &&
            [ -n "$pids" ]; do
            t=$((t + 1))
            [ $t -le 50 ] || fail "processes left in host $i: $(ps -o pid,args -p "$(echo $pids | tr ' ' ,)")"
            sleep 0.1
        done
    done
}

# Real ssh between test hosts, for mpirun's default launch agent.
# cluster_ssh_setup N (after NET_IP=1 cluster_ns_setup N): checks that each
# host's only route is the bridge's subnet, starts an sshd in every host
# (its own config, host key, port 2222, pid file and authorized keys under
# $T/ssh; root by key only, no PAM; SetEnv TMPDIR=$T/tmp and the test's
# sanitizer options for the sessions),
# makes a client key and $T/home/.ssh/config (an alias per host name, i.e.
# namespace name, with its address, port, key, BatchMode, no known-hosts
# file).  SSHD_PIDS: the listening sshds (they stay in the namespaces).
# Skips when sshd or ssh is missing.  cluster_ssh_mpirun writes
# $T/mpirun-ssh, a stand-in for $MPIRUN that runs the real one on host 1
# with $T/home mounted over /root in a mount namespace of its own: ssh
# reads ~/.ssh from the passwd entry's home, never from $HOME.
cluster_ssh_setup() {
    local n=$1 i d=$T/ssh ns routes t
    [ -x /usr/sbin/sshd ] || skip "sshd is not installed (Debian: openssh-server)"
    command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
        skip "ssh or ssh-keygen is not installed (Debian: openssh-client)"
    command -v unshare >/dev/null || skip "no unshare (util-linux)"
    for i in $(seq 1 "$n"); do
        routes=$(ip -n "$(net_ns "$i")" -4 route show | awk '{print $1, $2, $3}')
        [ "$routes" = "10.77.0.0/24 dev eth0" ] || fail "host $i has unexpected routes: $routes"
    done
    mkdir -p "$d" "$T/home/.ssh" "$T/tmp"
    chmod 700 "$d" "$T/home" "$T/home/.ssh"
    ssh-keygen -q -t ed25519 -N '' -C tide-test-host -f "$d/host_key" || fail "ssh-keygen (host key)"
    ssh-keygen -q -t ed25519 -N '' -C tide-test-client -f "$T/home/.ssh/id_ed25519" ||
        fail "ssh-keygen (client key)"
    cp "$T/home/.ssh/id_ed25519.pub" "$d/authorized_keys"
    # sshd's privilege-separation directory (its service makes it at boot;
    # /run is a tmpfs).  It stays: a test running beside this one may have
    # an sshd that needs it.
    mkdir -p -m 755 /run/sshd || fail "cannot make /run/sshd"
    SSHD_PIDS=()
    for i in $(seq 1 "$n"); do
        cluster_sshd_config "$i" >"$d/sshd_config-$i"
        ip netns exec "$(net_ns "$i")" /usr/sbin/sshd -D -f "$d/sshd_config-$i" \
            -E "$d/sshd-$i.log" </dev/null &
        SSHD_PIDS+=($!)
        tide_on_exit "kill $! 2>/dev/null"
    done
    cluster_ssh_client_config "$n" >"$T/home/.ssh/config"
    chmod 600 "$T/home/.ssh/config"
    for i in $(seq 1 "$n"); do
        ns=$(net_ns "$i")
        t=0
        until ip netns exec "$ns" ss -Hltn "src $(net_ip "$i"):2222" | grep -q LISTEN; do
            t=$((t + 1))
            [ $t -le 50 ] && kill -0 "${SSHD_PIDS[$((i - 1))]}" 2>/dev/null ||
                fail "sshd on host $i did not start: $(cat "$d/sshd-$i.log")"
            sleep 0.1
        done
    done
    cluster_ssh_mpirun
}

cluster_sshd_config() {
    cat <<CFG
Port 2222
ListenAddress $(net_ip "$1")
AddressFamily inet
HostKey $T/ssh/host_key
PidFile $T/ssh/sshd-$1.pid
AuthorizedKeysFile $T/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowUsers root
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTTY no
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 64
SetEnv TMPDIR=$T/tmp $(cluster_ssh_san_env)
LogLevel VERBOSE
CFG
}

# ssh passes no environment: a sanitized build's daemons and ranks get the
# test's sanitizer options (test/lib.sh) from sshd's SetEnv instead.
cluster_ssh_san_env() {
    local v
    for v in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS; do
        [ -n "${!v:-}" ] && printf '%s=%s ' "$v" "${!v}"
    done
    return 0
}

cluster_ssh_client_config() {
    local i
    for i in $(seq 1 "$1"); do
        printf 'Host %s\n    HostName %s\n' "$(net_ns "$i")" "$(net_ip "$i")"
    done
    cat <<CFG
Host tide-*
    User root
    Port 2222
    IdentityFile ~/.ssh/id_ed25519
    IdentitiesOnly yes
    BatchMode yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    GlobalKnownHostsFile /dev/null
    LogLevel ERROR
    ConnectTimeout 10
CFG
}

cluster_ssh_mpirun() {
    cat >"$T/mpirun-ssh" <<SH
#!/bin/sh
# mpirun on host 1, seeing $T/home as /root (every step execs: same pid)
exec ip netns exec "$(net_ns 1)" unshare --mount --propagation private \\
    sh -c 'mount --bind "\$0" /root && exec "\$@"' "$T/home" "$MPIRUN" "\$@"
SH
    chmod +x "$T/mpirun-ssh"
}

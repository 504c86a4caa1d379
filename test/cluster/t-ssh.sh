#!/usr/bin/env bash
# mpirun's default launch agent, ssh, for real: three test hosts (network
# namespaces on a bridge, 10.77.0.<i>/24 on eth0, no other route), an sshd
# started by this test in each (cluster_ssh_setup: its own config, host
# key, port, keys under $T; root by key only), and mpirun run on host 1
# without --launch-agent, so it runs "ssh HOST .../mpirun --tide-daemon"
# for every host (host 1 too: its name is not this machine's).  ssh takes
# address, port, key and BatchMode from ~/.ssh/config, which the test
# writes under $T/home and mounts over /root for mpirun only.  Checks:
# output from a rank on every host, naming that host's namespace; the p2p
# tests over eth across the hosts; a rank killed on a remote host ends the
# job naming rank and host; mpirun killed with SIGKILL leaves no daemon
# or rank on any host (the daemons end when ssh closes their stdin).
# After each job nothing but the listening sshds is left in the namespaces.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/cluster/cluster-lib.sh"
NET_IP=1 cluster_ns_setup 3 9000
cluster_ssh_setup 3
tide_build test/mpi/p2p.c "$T/p2p" -pthread
tide_build test/launch/failer.c "$T/failer"
SSH_MPIRUN=$T/mpirun-ssh
H=$(cluster_hosts "1 2 3")
H2=$(net_ns 2)
LAUNCH_LIMIT=$(tide_secs 60)

# run_ssh ARGS: launch_run with the mpirun of host 1
run_ssh() {
    MPIRUN=$SSH_MPIRUN launch_run "$@"
}
no_procs() { cluster_no_procs "${SSHD_PIDS[@]}"; }

# ssh itself works as mpirun will use it (a clear failure before mpirun's)
"$SSH_MPIRUN" --version >/dev/null || fail "cannot run mpirun on host 1"
ip netns exec "$(net_ns 1)" unshare --mount --propagation private sh -c \
    'mount --bind "$0" /root && exec ssh "$1" ip netns identify' "$T/home" "$H2" >"$T/who" 2>&1 ||
    fail "ssh from host 1 to host 2 failed: $(cat "$T/who" "$T/ssh/sshd-2.log")"
[ "$(cat "$T/who")" = "$H2" ] || fail "ssh $H2 ran elsewhere: $(cat "$T/who")"

# a rank on every host, each naming its own namespace; nothing else on stderr
run_ssh --host "$H" --tag-output --display-map \
    sh -c 'echo "rank $PMIX_RANK on $(ip netns identify)"'
launch_expect_rc 0
for i in 1 2 3; do
    launch_out_has "^\[1,$((i - 1))\]<stdout>: rank $((i - 1)) on $(net_ns "$i")$"
done
launch_err_has "$H2 (slots 1): rank 1$"
grep -v '^mpirun: ' "$T/err" | grep . && fail "unexpected stderr: $(cat "$T/err")"
no_procs

# the point-to-point tests over eth, ranks on every host
run_ssh -x TIDE_WIRE=eth -x TIDE_ETH_IF=eth0 --timeout "$(tide_secs 50)" --host "$H" "$T/p2p" \
    order anysrc pingpong modes
launch_expect_rc 0
for t in order anysrc pingpong modes; do launch_out_has "^p2p $t *ok$"; done
no_procs

# a host whose ssh fails (nothing listens on its port): ssh's own message,
# then mpirun's naming the host and exit code 255
{
    printf 'Host nosshd\n    HostName %s\n    Port 2223\n    BatchMode yes\n' "$(net_ip 2)"
    cat "$T/home/.ssh/config"
} >"$T/config" && mv "$T/config" "$T/home/.ssh/config"
run_ssh --host "$(net_ns 1),nosshd" sh -c 'echo "rank $PMIX_RANK"'
launch_expect_rc 1
launch_err_has "port 2223: Connection refused"
launch_err_has "lost the daemon on host nosshd (pid [0-9]*), which exited with code 255; its rank 1 is gone"
no_procs

# start_job: 3 ranks that wait 100 s, in the background, $PID
start_job() {
    : >"$T/out"
    "$SSH_MPIRUN" --host "$H" "$T/failer" sleep 0 100 >"$T/out" 2>"$T/err" </dev/null &
    PID=$!
    tide_on_exit "kill -KILL $PID"
    launch_wait_lines "$T/out" 3 "$(tide_secs 30)" || fail "job did not start: $(cat "$T/out" "$T/err")"
}
# ns_pids HOST PATTERN: pids in that host's namespace whose command line
# (spaces for NULs) matches PATTERN
ns_pids() {
    local p
    for p in $(ip netns pids "$(net_ns "$1")"); do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$2" && echo "$p"
    done
}

# the rank on host 2 killed: the job ends naming rank, pid and host
start_job
rpid=$(ns_pids 2 "^$T/failer " | head -n 1)
[ -n "$rpid" ] || fail "no rank found on host 2"
kill -KILL "$rpid"
RC=0
wait $PID || RC=$?
launch_expect_rc 137
launch_err_has "rank 1 (pid $rpid on $H2) was killed by signal 9 (SIGKILL); terminating the 2 other running ranks"
no_procs
note "rank killed: $(grep killed "$T/err")"

# mpirun killed with SIGKILL: ssh sees its stdin close, the daemons theirs
start_job
for i in 2 3; do
    [ -n "$(ns_pids "$i" -- --tide-daemon)" ] || fail "no daemon on host $i"
done
# the daemons' PMIx directories are under the sessions' TMPDIR (sshd's
# SetEnv): launch_no_tmpdirs below sees them gone
n=$(find "$T/tmp" -maxdepth 1 -name 'tide-mpirun.*' | wc -l)
[ "$n" -ge 3 ] || fail "$n daemon directories in \$T/tmp, expected 3: $(ls "$T/tmp")"
kill -KILL $PID
{ wait $PID; } 2>/dev/null || true
no_procs
note "mpirun killed: every host empty again ($n daemon directories were in \$T/tmp)"

# every host's sshd logged a key login per job (4 jobs; host 2 also the
# check above)
for i in 1 2 3; do
    n=$(grep -c "Accepted publickey for root from $(net_ip 1) " "$T/ssh/sshd-$i.log")
    [ "$n" -ge 4 ] || fail "sshd of host $i logged $n key logins: $(cat "$T/ssh/sshd-$i.log")"
done
for pid in "${SSHD_PIDS[@]}"; do kill "$pid"; done
wait "${SSHD_PIDS[@]}" 2>/dev/null
assert_no_leftovers
launch_no_tmpdirs

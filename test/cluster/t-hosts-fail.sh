#!/usr/bin/env bash
# Failures of a job on test hosts (network namespaces, --launch-agent
# "ip netns exec"), each followed by a check that no process is left in
# any namespace: a rank that exits non-zero (named with its host), a whole
# host daemon killed with SIGKILL (named with host and ranks), SIGTERM and
# SIGINT to mpirun (forwarded), --timeout.  Also output tagged from every
# host and stdin to rank 0.  mpirun killed with SIGKILL leaves nothing
# either (the daemons end with their stdin).
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/cluster/cluster-lib.sh"
cluster_ns_setup 2
tide_build test/launch/failer.c "$T/failer"
tide_build test/launch/hello.c "$T/hello"
tide_build test/launch/stdin.c "$T/stdin"
H=$(cluster_hosts "1:2 2:2")
H2=$(net_ns 2)

# output from every host, tagged; stdin to rank 0
launch_run "${NS[@]}" --host "$H" --tag-output "$T/hello"
launch_expect_rc 0
for r in 0 1 2 3; do
    launch_out_has "^\[1,$r\]<stdout>: hello from rank $r of 4$"
    launch_err_has "^\[1,$r\]<stderr>: stderr of rank $r$"
done
printf 'first line\nsecond line\n' >"$T/in"
RC=0
timeout 60 "$MPIRUN" "${NS[@]}" --host "$H" "$T/stdin" <"$T/in" >"$T/out" 2>"$T/err" || RC=$?
launch_expect_rc 0
[ "$(grep '^echo: ' "$T/out")" = "$(printf 'echo: first line\necho: second line')" ] ||
    fail "rank 0 did not echo stdin: $(cat "$T/out" "$T/err")"
launch_out_has "^rank 3 stdin eof$"
cluster_no_procs

# a rank on the second host exits 3
launch_fresh_sync # (the namespaces share this file system)
launch_run "${NS[@]}" --host "$H" "$T/failer" exit 3 3
launch_expect_rc 3
launch_err_has "rank 3 (pid [0-9]* on $H2) exited with code 3; terminating the 3 other running ranks"
cluster_no_procs

# start_job: a 4-rank job that waits 100 s, in the background, $PID
start_job() {
    : >"$T/out"
    "$MPIRUN" "${NS[@]}" --host "$H" "$@" "$T/failer" sleep 0 100 >"$T/out" 2>"$T/err" </dev/null &
    PID=$!
    tide_on_exit "kill -KILL $PID"
    launch_wait_lines "$T/out" 4 30 || fail "job did not start: $(cat "$T/out" "$T/err")"
}

# the daemon of host 2 killed: the job ends naming the host and its ranks
start_job
dpid=$(for p in $(ip netns pids "$H2"); do
    grep -q -- --tide-daemon "/proc/$p/cmdline" 2>/dev/null && echo "$p"
done)
[ -n "$dpid" ] || fail "no daemon found in $H2"
kill -KILL $dpid
RC=0
wait $PID || RC=$?
launch_expect_rc 1
launch_err_has "lost the daemon on host $H2 (pid $dpid), which was killed by signal 9 (SIGKILL); its ranks 2,3 are gone; terminating the 2 running ranks"
cluster_no_procs
note "daemon killed: $(grep lost "$T/err")"

# one rank on host 2 killed with SIGKILL (the acceptance case): the job
# ends with mpirun's 137, a message naming rank, pid and host, nothing left
start_job
rpid=$(for p in $(ip netns pids "$H2"); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "^$T/failer " && echo "$p"
done | head -n 1)
[ -n "$rpid" ] || fail "no rank found in $H2"
kill -KILL "$rpid"
RC=0
wait $PID || RC=$?
launch_expect_rc 137
launch_err_has "rank [23] (pid $rpid on $H2) was killed by signal 9 (SIGKILL); terminating the 3 other running ranks"
cluster_no_procs
note "rank killed: $(grep killed "$T/err")"

# signals to mpirun are forwarded; everything ends
for sig in TERM INT; do
    start_job
    kill -$sig $PID
    RC=0
    wait $PID || RC=$?
    launch_expect_rc $((128 + $(kill -l $sig)))
    launch_err_has "received SIG$sig"
    cluster_no_procs
done

# mpirun killed with SIGKILL: each daemon sees its stdin close, ends its
# ranks and exits
start_job
kill -KILL $PID
wait $PID || true
cluster_no_procs

# --timeout
LAUNCH_EXPECT_124=1 launch_run "${NS[@]}" --host "$H" --timeout 2 "$T/failer" sleep 0 100
launch_expect_rc 124
launch_err_has "ran longer than --timeout 2 seconds"
cluster_no_procs
assert_no_leftovers
launch_no_tmpdirs

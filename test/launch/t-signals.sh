#!/usr/bin/env bash
# Signals to mpirun: SIGTERM and SIGINT are forwarded to the ranks, mpirun
# exits 128+signal, no rank and no temporary directory is left.  After
# SIGKILL of mpirun the ranks die with it (PR_SET_PDEATHSIG) and the next
# mpirun removes the directory the dead one left.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/failer.c "$T/failer"

# start_job: mpirun in the background, $PID, once both ranks run
start_job() {
    : >"$T/out"
    "$MPIRUN" -np 2 "$T/failer" sleep 0 100 >"$T/out" 2>"$T/err" </dev/null &
    PID=$!
    tide_on_exit "kill -KILL $PID"
    launch_wait_lines "$T/out" 2 30 || fail "job did not start: $(cat "$T/out" "$T/err")"
    [ -n "$(find "$T/tmp" -maxdepth 1 -name 'tide-mpirun.*')" ] || fail "no temporary directory while running"
}

for sig in TERM INT HUP; do
    start_job
    kill -$sig $PID
    RC=0
    wait $PID || RC=$?
    want=$((128 + $(kill -l $sig)))
    launch_expect_rc $want
    launch_err_has "received SIG$sig"
    assert_no_leftovers
    launch_no_tmpdirs
    note "SIG$sig: exit $RC"
done

start_job
kill -KILL $PID
wait $PID || true
sleep 0.5
assert_no_leftovers
[ -n "$(find "$T/tmp" -maxdepth 1 -name 'tide-mpirun.*')" ] || fail "SIGKILL: expected a stale directory"
launch_run -np 1 "$T/failer" sleep 0 0
launch_expect_rc 0
launch_no_tmpdirs

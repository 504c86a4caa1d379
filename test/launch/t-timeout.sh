#!/usr/bin/env bash
# --timeout 2 ends a job whose rank sleeps (the others wait in a barrier):
# a message, exit code 124, well before the sleep would end, nothing left.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/failer.c "$T/failer"
start=$(date +%s)
LAUNCH_EXPECT_124=1 launch_run -np 2 --timeout 2 "$T/failer" sleep 1 100
took=$(($(date +%s) - start))
launch_expect_rc 124
launch_err_has "longer than --timeout 2 seconds"
[ $took -lt 20 ] || fail "took ${took}s"
[ "$(grep -c '^ready' "$T/out")" = 2 ] || fail "the ranks did not run: $(cat "$T/out")"
assert_no_leftovers
# a job that finishes in time is not affected
launch_run -np 2 --timeout 30 "$T/failer" sleep 1 1
launch_expect_rc 0
launch_no_tmpdirs
# ranks that ignore SIGTERM get SIGKILL after TIDE_MPIRUN_KILL_GRACE
cp /bin/sleep "$T/sleep"
start=$(date +%s)
TIDE_MPIRUN_KILL_GRACE=1s LAUNCH_EXPECT_124=1 launch_run -np 2 --timeout 1 \
    sh -c "trap '' TERM; exec $T/sleep 100"
took=$(($(date +%s) - start))
launch_expect_rc 124
[ $took -lt 20 ] || fail "ranks ignoring SIGTERM survived ${took}s"
assert_no_leftovers
launch_no_tmpdirs

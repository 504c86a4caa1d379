#!/usr/bin/env bash
# mpirun --enable-recovery: a rank that exits non-zero or is killed does not
# end the job; the other ranks get PMIX_ERR_PROC_ABORTED (source and
# PMIX_EVENT_AFFECTED_PROC = the failed rank) and finish normally; mpirun
# names the rank and exits with its status once every rank is gone.
# Without the flag the same failure ends the job.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
pkg-config --exists pmix || skip "no pmix pkg-config file"
launch_build_pmix test/launch/pmix_client.c "$T/pmix_client"
np=3
launch_run --enable-recovery -np $np $(launch_oversub $np) "$T/pmix_client" recover 1 5
launch_expect_rc 5
launch_err_has "rank 1 (pid [0-9]*) exited with code 5; the job goes on (--enable-recovery)"
[ "$(grep -c "^rank [02] told rank 1 failed" "$T/out")" = 2 ] || fail "survivors: $(cat "$T/out" "$T/err")"
assert_no_leftovers
# killed by a signal: exit 128+9
launch_run --enable-recovery -np $np $(launch_oversub $np) "$T/pmix_client" recover 2 0
launch_expect_rc 137
launch_err_has "rank 2 (pid [0-9]*) was killed by signal 9 (SIGKILL); the job goes on"
[ "$(grep -c "^rank [01] told rank 2 failed" "$T/out")" = 2 ] || fail "survivors: $(cat "$T/out" "$T/err")"
assert_no_leftovers
# without the flag: the job is torn down, naming the rank
launch_run -np $np $(launch_oversub $np) "$T/pmix_client" recover 1 5
launch_expect_rc 5
launch_err_has "rank 1 (pid [0-9]*) exited with code 5; terminating the 2 other running ranks"
assert_no_leftovers
launch_no_tmpdirs

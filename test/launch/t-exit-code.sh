#!/usr/bin/env bash
# Rank 1 calls exit(3) while the others wait in MPI_Barrier: mpirun kills
# the job, names rank 1 and code 3, exits 3, and nothing of the job is left.
# Same for rank 0, and for a rank that skips MPI_Finalize (exit 1).
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/failer.c "$T/failer"
for np in 2 3; do
    launch_fresh_sync
    launch_run -np $np $(launch_oversub $np) "$T/failer" exit 1 3
    launch_expect_rc 3
    launch_err_has "rank 1 (pid [0-9]*) exited with code 3"
    [ "$(grep -c '^ready' "$T/out")" = $np ] || fail "not all ranks started: $(cat "$T/out")"
    assert_no_leftovers
    note "-np $np: $(head -1 "$T/err")"
done
# rank 0 (the one with stdin) fails too
launch_fresh_sync
launch_run -np 2 "$T/failer" exit 0 42
launch_expect_rc 42
launch_err_has "rank 0 (pid [0-9]*) exited with code 42"
assert_no_leftovers
# returning 0 from main after MPI_Init without MPI_Finalize is a failure too
launch_fresh_sync
launch_run -np 2 "$T/failer" nofinalize 1
launch_expect_rc 1
launch_err_has "rank 1 (pid [0-9]*) exited with code 0 without calling MPI_Finalize"
assert_no_leftovers
launch_no_tmpdirs

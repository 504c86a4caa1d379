#!/usr/bin/env bash
# mpirun's PMIx server seen by a bare PMIx client (no MPI library): job data
# (size, local size/rank, tide.jobkey), put/commit/fence with data and get
# across ranks; a rank that exits non-zero, calls PMIx_Abort, or exits 0
# without PMIx_Finalize ends the job, also for ranks blocked in a fence.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
pkg-config --exists pmix || skip "no pmix pkg-config file"
launch_build_pmix test/launch/pmix_client.c "$T/pmix_client"
for np in 1 2 4; do
    launch_run -np $np $(launch_oversub $np) "$T/pmix_client" hello
    launch_expect_rc 0
    [ "$(grep -c "^rank [0-9]* of $np ok key " "$T/out")" = $np ] || fail "-np $np: $(cat "$T/out" "$T/err")"
    [ "$(awk '{print $NF}' "$T/out" | sort -u | wc -l)" = 1 ] || fail "ranks disagree on the job key"
done
key1=$(awk '{print $NF; exit}' "$T/out")
launch_run -np 1 "$T/pmix_client" hello
[ "$(awk '{print $NF}' "$T/out")" != "$key1" ] || fail "two jobs got the same job key"

launch_run -np 2 "$T/pmix_client" exit 1 3
launch_expect_rc 3
launch_err_has "rank 1 (pid [0-9]*) exited with code 3"
assert_no_leftovers
launch_run -np 2 "$T/pmix_client" abort 1 9
launch_expect_rc 9
launch_err_has "rank 1 (pid [0-9]*) called MPI_Abort(..., 9): test abort"
assert_no_leftovers
launch_run -np 2 "$T/pmix_client" nofinalize 1
launch_expect_rc 1
launch_err_has "rank 1 (pid [0-9]*) exited with code 0 without calling MPI_Finalize"
assert_no_leftovers
# a program that never talks PMIx may exit 0 freely
launch_run -np 2 true
launch_expect_rc 0
launch_no_tmpdirs

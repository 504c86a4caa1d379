#!/usr/bin/env bash
# MPI_Abort(MPI_COMM_WORLD, 7) on rank 1 ends the whole job (rank 0 waits
# in MPI_Barrier) and mpirun exits 7, saying who called MPI_Abort.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/failer.c "$T/failer"
launch_fresh_sync
launch_run -np 2 "$T/failer" abort 1 7
launch_expect_rc 7
launch_err_has "rank 1 (pid [0-9]*) called MPI_Abort(..., 7)"
assert_no_leftovers
# codes are taken modulo 256 like exit(2); one that would read 0 becomes 1
launch_fresh_sync
launch_run -np 2 "$T/failer" abort 0 300
launch_expect_rc 44
launch_fresh_sync
launch_run -np 2 "$T/failer" abort 0 256
launch_expect_rc 1
assert_no_leftovers
launch_no_tmpdirs
note "$(head -1 "$T/err")"

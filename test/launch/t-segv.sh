#!/usr/bin/env bash
# A rank killed by SIGSEGV: mpirun names the rank and the signal, kills the
# others (blocked in MPI_Barrier) and exits 128+11.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/failer.c "$T/failer"
# ASan build: ASan's own SIGSEGV handler would print a report and exit 1;
# handle_segv=0 leaves the signal to kill the rank, which is what we check.
if [ -n "$TIDE_SAN_CFLAGS" ]; then
    export ASAN_OPTIONS="$ASAN_OPTIONS:handle_segv=0"
    note "sanitized build: ASAN_OPTIONS=$ASAN_OPTIONS"
fi
launch_fresh_sync
launch_run -np 2 "$T/failer" segv 1
launch_expect_rc 139
launch_err_has "rank 1 (pid [0-9]*) was killed by signal 11 (SIGSEGV)"
assert_no_leftovers
launch_no_tmpdirs
note "$(cat "$T/err")"

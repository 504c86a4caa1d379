#!/usr/bin/env bash
# Error classes and strings, handlers on communicators, misuse reported with
# the call and the argument named.
. "$TIDE_SRCDIR/test/lib.sh"
tide_build test/mpi/errors.c "$T/errors"
"$T/errors" || fail "errors test program failed"
rc=0
err=$("$T/errors" fatal 2>&1) || rc=$?
[ "$rc" = "$(( 5 ))" ] || fail "fatal handler: want exit 5 (MPI_ERR_COMM), got $rc: $err"
echo "$err" | grep -q "MPI_Comm_size: argument comm (handle 77) is not a valid communicator" ||
    fail "message does not name the call and argument: $err"

#!/usr/bin/env bash
# A program started without mpirun runs as a job of size 1 (singleton), as in
# Open MPI and MPICH; calls before MPI_Init end with a clear message.
. "$TIDE_SRCDIR/test/lib.sh"
tide_build test/mpi/hello.c "$T/hello"
out=$(env -u PMIX_NAMESPACE -u PMIX_SERVER_URI41 "$T/hello") || fail "singleton hello failed"
echo "$out"
echo "$out" | grep -qx "hello from rank 0 of 1 on $(hostname)" || fail "unexpected output: $out"

cat >"$T/early.c" <<'C'
#include <mpi.h>
int main(void) { int r; return MPI_Comm_rank(MPI_COMM_WORLD, &r); }
C
tide_build "$T/early.c" "$T/early"
rc=0
err=$("$T/early" 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "MPI_Comm_rank before MPI_Init returned success"
echo "$err" | grep -q "MPI_Comm_rank called before MPI_Init" || fail "no clear message: $err"

# A PMIx server advertised in the environment but absent is an error, not a
# silent singleton.
rc=0
err=$(PMIX_NAMESPACE=nosuch PMIX_SERVER_URI41="nosuch;tcp4://127.0.0.1:1" "$T/hello" 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "hello ran although its PMIx server is missing"
echo "$err" | grep -q "cannot connect to the PMIx server" || fail "no clear message: $err"

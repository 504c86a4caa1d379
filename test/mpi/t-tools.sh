#!/usr/bin/env bash
# MPI_T (cvars = tunables, pvars = transport counters) and the profiling
# interface: a profiling library built as a shared object and linked in
# front of libmpi counts the calls a program makes, through PMPI_X.
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
"$MPICC" -Wall -Wextra -Werror -shared -fPIC -o "$T/libprof.so" "$TIDE_SRCDIR/test/mpi/prof.c" ||
    fail "cannot build the profiling library"
tide_build test/mpi/tools.c "$T/tools"
"$MPICC" -Wall -Wextra -Werror -o "$T/tools_prof" "$TIDE_SRCDIR/test/mpi/tools.c" \
    -L"$T" -Wl,-rpath,"$T" -lprof || fail "cannot link with the profiling library"
"$T/tools" || fail "MPI_T as a singleton"
"$MPIRUN" --timeout 60 -np 2 -x TIDE_EAGER_LIMIT=4096 "$T/tools" || fail "MPI_T at -np 2"
"$MPIRUN" --timeout 60 -np 2 "$T/tools_prof" prof || fail "profiling interface at -np 2"

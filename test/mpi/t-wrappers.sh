#!/usr/bin/env bash
# mpicc/mpicxx: -show and friends print the real command lines, CC/CXX and
# TIDE_CC are honoured, mpi.h is warning-free as C and C++ (-Werror), the
# pkg-config file works, and tide_info lists the wires and tunables.
. "$TIDE_SRCDIR/test/lib.sh"
show=$("$MPICC" -show -c foo.c)
echo "mpicc -show: $show"
case "$show" in *"-I$TIDE_PREFIX/include"*foo.c*) ;; *) fail "mpicc -show lacks the include path" ;; esac
case "$show" in *-lmpi*) fail "compile-only (-c) must not link: $show" ;; esac
link=$("$MPICC" -show foo.c -o foo)
case "$link" in *"-L$TIDE_PREFIX/lib"*-lmpi*) ;; *) fail "mpicc -show lacks the link flags: $link" ;; esac
# A sanitized build (TIDE_SAN_CFLAGS, test/lib.sh) adds its flags to both.
[ "$("$MPICC" -showme:compile)" = "-I$TIDE_PREFIX/include${TIDE_SAN_CFLAGS:+ $TIDE_SAN_CFLAGS}" ] || fail "-showme:compile"
[ -z "$TIDE_SAN_CFLAGS" ] || "$MPICC" -showme:link | grep -q -- "$TIDE_SAN_CFLAGS" || fail "-showme:link lacks $TIDE_SAN_CFLAGS"
"$MPICC" -showme:link | grep -q -- "-lmpi" || fail "-showme:link"
"$MPICC" -compile-info | grep -q -- "-I$TIDE_PREFIX/include" || fail "-compile-info"
"$MPICC" -link-info | grep -q -- "-lmpi" || fail "-link-info"
[ "$(CC=clang "$MPICC" -show x.c | cut -d' ' -f1)" = clang ] || fail "CC not honoured"
[ "$(TIDE_CC=clang CC=gcc "$MPICC" -show x.c | cut -d' ' -f1)" = clang ] || fail "TIDE_CC not honoured"
[ "$(CC=mpicc "$MPICC" -show x.c | cut -d' ' -f1)" != mpicc ] || fail "CC=mpicc would recurse"
[ "$(CXX=clang++ "$MPICXX" -show x.cc | cut -d' ' -f1)" = clang++ ] || fail "CXX not honoured"
TIDE_CFLAGS=-DEXTRA_FLAG "$MPICC" -show x.c | grep -q -- -DEXTRA_FLAG || fail "TIDE_CFLAGS ignored"

# mpi.h compiles warning-free as C and C++.
printf '#include <mpi.h>\nint main(int c, char **v) { MPI_Init(&c, &v); MPI_Finalize(); return 0; }\n' >"$T/m.c"
cp "$T/m.c" "$T/m.cc"
for std in c99 c11 gnu17; do
    "$MPICC" -std=$std -Wall -Wextra -Wpedantic -Werror -o "$T/mc" "$T/m.c" || fail "mpi.h as C ($std)"
done
for std in c++11 c++17; do
    "$MPICXX" -std=$std -Wall -Wextra -Werror -o "$T/mcc" "$T/m.cc" || fail "mpi.h as C++ ($std)"
done
"$T/mc" && "$T/mcc" || fail "wrapped programs do not run"
# The installed pkg-config file gives a working build as well.
PKG_CONFIG_PATH="$TIDE_PREFIX/lib/pkgconfig" cc -o "$T/mp" "$T/m.c" \
    $(PKG_CONFIG_PATH="$TIDE_PREFIX/lib/pkgconfig" pkg-config --cflags --libs tide) || fail "pkg-config tide"
"$T/mp" || fail "pkg-config-built program does not run"

# Profiling interface: MPI_X is a weak alias of PMPI_X.
nm -D "$TIDE_PREFIX/lib/libmpi.so" | grep -q " W MPI_Init$" || fail "MPI_Init is not a weak symbol"
nm -D "$TIDE_PREFIX/lib/libmpi.so" | grep -q " T PMPI_Init$" || fail "PMPI_Init missing"

info=$("$TIDE_PREFIX/bin/tide_info")
echo "$info" | head -8
echo "$info" | grep -q "wires: .*eth" || fail "tide_info does not list the wires"
echo "$info" | grep -q "TIDE_LOG_LEVEL" || fail "tide_info does not list the tunables"
"$TIDE_PREFIX/bin/tide_info" --param LOG_LEVEL | grep -q "Verbosity" || fail "tide_info --param"
echo "$info" | grep -q "TIDE_MPIRUN_KILL_GRACE" || fail "tide_info does not list mpirun's tunables"
echo "$info" | grep -q "TIDE_EAGER_LIMIT" || fail "tide_info does not list the p2p tunables"

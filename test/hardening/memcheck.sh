#!/bin/bash
# Valgrind memcheck over the MPI tests (on demand, not in make check: it
# takes minutes): self as a singleton and at -np 2, p2p and coll at -np 2
# over udp, every rank under valgrind.  Any invalid access, use of
# uninitialised memory or definite leak outside libpmix fails.
#   TIDE_SRCDIR=... TIDE_BUILDDIR=... TIDE_PREFIX=<install> test/hardening/memcheck.sh
. "$TIDE_SRCDIR/test/lib.sh"
command -v valgrind >/dev/null || skip "valgrind not installed (apt-get install valgrind)"
[ -x "$MPIRUN" ] || skip "mpirun is not installed in $TIDE_PREFIX"
VG="valgrind -q --error-exitcode=9 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --suppressions=$TIDE_SRCDIR/test/hardening/valgrind.supp"
tide_build test/mpi/self.c "$T/self" -g
tide_build test/mpi/p2p.c "$T/p2p" -g -pthread
tide_build test/mpi/coll.c "$T/coll" -g
vg() {
    local what=$1
    shift
    note "memcheck: $what"
    "$@" >"$T/vg.log" 2>&1 || { tail -60 "$T/vg.log"; fail "memcheck: $what"; }
    ! grep -q "==[0-9]*== .*\(Invalid\|uninitialised\|definitely lost\)" "$T/vg.log" ||
        { grep -A20 "Invalid\|uninitialised\|definitely lost" "$T/vg.log" | head -60; fail "memcheck: $what"; }
}
export TIDE_RTE_GET_TIMEOUT=120s TIDE_P2P_PEER_TIMEOUT=0
vg "self (singleton)" $VG "$T/self"
vg "self -np 2" "$MPIRUN" --timeout 600 -np 2 $VG "$T/self"
vg "p2p -np 2" "$MPIRUN" --timeout 900 -x TIDE_WIRE=udp -x TIDE_RTE_GET_TIMEOUT \
    -x TIDE_P2P_PEER_TIMEOUT -np 2 $VG "$T/p2p" eager ssend order anysrc trunc cancel modes pingpong threads
vg "coll -np 2" "$MPIRUN" --timeout 900 -x TIDE_WIRE=udp -x TIDE_RTE_GET_TIMEOUT \
    -x TIDE_P2P_PEER_TIMEOUT -np 2 $VG "$T/coll"

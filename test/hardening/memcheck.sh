#!/bin/bash
# Valgrind memcheck over the MPI tests (on demand, not in make check: it
# takes 10-30 minutes): self as a singleton and at -np 2; p2p, coll, dtype
# at -np 2; nbc, comm, group, comm_attr, dtype_pair at -np 3; over udp,
# every rank under valgrind.  Any invalid access, use of uninitialised
# memory or definite leak outside libpmix fails.  Needs an install that is
# not built with sanitizers (valgrind cannot run ASan programs).
#   TIDE_SRCDIR=... TIDE_BUILDDIR=... TIDE_PREFIX=<install> test/hardening/memcheck.sh [NAME...]
# NAMEs (self p2p coll dtype nbc comm group comm_attr dtype_pair) pick a subset.
. "$TIDE_SRCDIR/test/lib.sh"
command -v valgrind >/dev/null || skip "valgrind not installed (apt-get install valgrind)"
[ -x "$MPIRUN" ] || skip "mpirun is not installed in $TIDE_PREFIX"
VG="valgrind -q --error-exitcode=9 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --suppressions=$TIDE_SRCDIR/test/hardening/valgrind.supp"
"$MPICC" -showme:compile | grep -q -- -fsanitize && skip "$TIDE_PREFIX is a sanitized build"
want=" ${*:-self p2p coll dtype nbc comm group comm_attr dtype_pair} "
vg() {
    local what=$1
    shift
    note "memcheck: $what"
    "$@" >"$T/vg.log" 2>&1 || { tail -60 "$T/vg.log"; fail "memcheck: $what"; }
    ! grep -q "==[0-9]*== .*\(Invalid\|uninitialised\|definitely lost\)" "$T/vg.log" ||
        { grep -A20 "Invalid\|uninitialised\|definitely lost" "$T/vg.log" | head -60; fail "memcheck: $what"; }
}
# vgrun NAME NP [ARGS...]: test/mpi/NAME.c at NP ranks, each under memcheck
vgrun() {
    local name=$1 np=$2
    shift 2
    [[ "$want" == *" $name "* ]] || return 0
    tide_build "test/mpi/$name.c" "$T/$name" -g -pthread
    vg "$name -np $np $*" "$MPIRUN" --timeout 1200 -x TIDE_WIRE=udp -x TIDE_RTE_GET_TIMEOUT \
        -x TIDE_P2P_PEER_TIMEOUT -np "$np" --oversubscribe $VG "$T/$name" "$@"
}
export TIDE_RTE_GET_TIMEOUT=120s TIDE_P2P_PEER_TIMEOUT=0
if [[ "$want" == *" self "* ]]; then
    tide_build test/mpi/self.c "$T/self" -g
    vg "self (singleton)" $VG "$T/self"
fi
vgrun self 2
vgrun p2p 2 eager ssend order anysrc trunc cancel modes pingpong threads
vgrun coll 2
vgrun dtype 2
vgrun nbc 3
vgrun comm 3
vgrun group 3
vgrun comm_attr 3
vgrun dtype_pair 3

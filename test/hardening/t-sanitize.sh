#!/bin/bash
# Sanitizer builds of libmpi, CI form (issue 9 item 5):
#   ASan+UBSan: the self and p2p MPI tests (2 ranks, udp) linked against an
#               AddressSanitizer + UBSan copy of libmpi;
#   TSan:       the threaded p2p test (MPI_THREAD_MULTIPLE, 4 threads per
#               rank) and mt_progress (4 threads per rank computing outside
#               MPI while the asynchronous progress thread moves their
#               eager and rendezvous messages, then re-entering MPI while
#               it runs) against a ThreadSanitizer copy.
# The copies are configured out of tree once under
# $TIDE_BUILDDIR/hardening/{asan,tsan} and rebuilt incrementally (only
# libmpi.la), so a run after a small change takes about a minute; the first
# run builds them (a few minutes on 2 cores).  The test programs are built
# with the same sanitizer and linked straight to that libmpi (rpath).
# TIDE_SANITIZE=asan|tsan runs one of the two only.
# In a build that is itself sanitized (TIDE_SANITIZE=1 scripts/run-tests.sh,
# the whole suite under ASan+UBSan; doc/reliability.md) the ASan half uses
# that build and its mpicc instead of a copy.
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
CC=${CC:-gcc}
which=${TIDE_SANITIZE:-asan tsan}
case "$which" in 1 | all) which="asan tsan" ;; esac

# san_lib NAME CONFIGURE-ARGS...: an up-to-date libmpi.la in hardening/NAME
san_lib() {
    local name=$1 b="$TIDE_BUILDDIR/hardening/$1"
    shift
    mkdir -p "$b"
    if [ ! -f "$b/Makefile" ] || [ "$TIDE_SRCDIR/configure" -nt "$b/Makefile" ]; then
        note "configuring the $name copy in $b"
        (cd "$b" && "$TIDE_SRCDIR/configure" --prefix="$b/inst" "$@") >"$b/configure.log" 2>&1 ||
            { tail -20 "$b/configure.log"; fail "configure of the $name copy failed"; }
    fi
    note "building libmpi ($name)"
    make -C "$b" -j2 libmpi.la >"$b/make.log" 2>&1 ||
        { grep -E 'error|Error' "$b/make.log" | head -20; fail "build of the $name copy failed"; }
}

# san_prog NAME SRC OUT FLAGS: a test program linked to the NAME copy
san_prog() {
    local b="$TIDE_BUILDDIR/hardening/$1"
    $CC -g -O1 $4 -pthread -I"$TIDE_SRCDIR/include" -o "$3" "$TIDE_SRCDIR/$2" \
        -L"$b/.libs" -Wl,-rpath,"$b/.libs" -lmpi || fail "could not build $2 ($1)"
}

# san_check LOG: no sanitizer report in a run's output
san_check() {
    if grep -qE '^(==[0-9]+==ERROR|WARNING: ThreadSanitizer|SUMMARY: (Address|Undefined|Thread|Leak)Sanitizer)|runtime error:' "$1"; then
        grep -E -A25 '==ERROR|ThreadSanitizer|runtime error:' "$1" | head -80
        fail "sanitizer report in $2"
    fi
}

run() {
    local log=$1 what=$2
    shift 2
    note "$what"
    "$@" >"$log" 2>&1
    local rc=$?
    san_check "$log" "$what"
    [ $rc = 0 ] || { tail -30 "$log"; fail "$what: exit $rc"; }
}

if [[ " $which " == *" asan "* ]]; then
    if [ -n "$TIDE_SAN_CFLAGS" ]; then
        note "asan: this build is sanitized ($TIDE_SAN_CFLAGS): using it"
        tide_build test/mpi/self.c "$T/self" -g
        tide_build test/mpi/p2p.c "$T/p2p" -g -pthread
        tide_build test/hardening/mt_progress.c "$T/mt" -g -pthread
    else
        SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
        san_lib asan --enable-sanitizers CFLAGS="-g -O1"
        san_prog asan test/mpi/self.c "$T/self" "$SAN"
        san_prog asan test/mpi/p2p.c "$T/p2p" "$SAN"
        san_prog asan test/hardening/mt_progress.c "$T/mt" "$SAN"
    fi
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
    run "$T/a-self1.log" "asan: self as a singleton" "$T/self"
    run "$T/a-self2.log" "asan: self -np 2" "$MPIRUN" --timeout 120 -np 2 "$T/self"
    run "$T/a-p2p.log" "asan: p2p -np 2" "$MPIRUN" --timeout 180 -x TIDE_WIRE=udp -np 2 "$T/p2p"
    run "$T/a-p2p4.log" "asan: p2p -np 4 anysrc order threads" \
        "$MPIRUN" --timeout 180 -x TIDE_WIRE=udp -np 4 --oversubscribe "$T/p2p" anysrc order threads
    run "$T/a-mt.log" "asan: mt_progress -np 2 (progress thread + 4 threads per rank)" \
        "$MPIRUN" --timeout 180 -x TIDE_WIRE=udp -x TIDE_ASYNC_PROGRESS=1 -np 2 "$T/mt" 20
fi

if [[ " $which " == *" tsan "* ]]; then
    san_lib tsan CFLAGS="-g -O1 -fsanitize=thread" LDFLAGS="-fsanitize=thread"
    san_prog tsan test/mpi/p2p.c "$T/p2p-tsan" "-fsanitize=thread"
    san_prog tsan test/hardening/mt_progress.c "$T/mt-tsan" "-fsanitize=thread"
    export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:${TSAN_OPTIONS:-}"
    # (not "overlap": its timing bounds do not hold at TSan's speed)
    run "$T/t-p2p.log" "tsan: p2p -np 2 threads ssend pingpong anysrc (progress thread on)" \
        "$MPIRUN" --timeout 240 -x TIDE_WIRE=udp -np 2 "$T/p2p-tsan" threads ssend pingpong anysrc
    run "$T/t-mt.log" "tsan: mt_progress -np 2 (application threads out computing while the progress thread works)" \
        "$MPIRUN" --timeout 240 -x TIDE_WIRE=udp -x TIDE_ASYNC_PROGRESS=1 -np 2 "$T/mt-tsan" 20
    grep -h '^mt_progress:' "$T/t-mt.log"
fi

#!/usr/bin/env bash
# MPICH's own test suite against Tide (test/mpich/run.sh): the curated list
# test/mpich/ci.list (point-to-point, datatypes, communicators, groups,
# attributes), every one of which must pass.  With TIDE_MPICH_FULL=1 also
# the whole directories attr, coll, comm, datatype, errhan, group, info,
# init, pt2pt and topo; there a failure listed in test/mpich/expected-failures is
# reported but does not fail the test.  Skips when the MPICH tarball has not
# been fetched (scripts/fetch-deps.sh, run by scripts/setup.sh).
# Environment: TIDE_MPICH_FULL, TIDE_MPICH_TARBALL, TIDE_MPICH_WORK (build
# the suite there and keep it, to rerun without configuring again).
. "$TIDE_SRCDIR/test/lib.sh"
: "${TIDE_MPICH_TARBALL:=$TIDE_SRCDIR/_deps/mpich_4.0.2.orig.tar.xz}"
export TIDE_MPICH_TARBALL
[ -f "$TIDE_MPICH_TARBALL" ] || skip "$TIDE_MPICH_TARBALL is missing (run scripts/fetch-deps.sh)"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
command -v perl >/dev/null || skip "perl (MPICH's runtests) is not installed"
work=${TIDE_MPICH_WORK:-$T/mpich}
runner="$TIDE_SRCDIR/test/mpich/run.sh"
"$runner" --list "$TIDE_SRCDIR/test/mpich/ci.list" --work "$work" ||
    fail "a test of test/mpich/ci.list failed (output above)"
if [ "${TIDE_MPICH_FULL:-0}" = 1 ]; then
    "$runner" --dirs attr,coll,comm,datatype,errhan,group,info,init,pt2pt,topo --work "$work" ||
        fail "MPICH suite: failures not listed in test/mpich/expected-failures (output above)"
fi
assert_no_leftovers

#!/usr/bin/env bash
# Run MPICH's own test suite (test/mpi of the MPICH 4.0.2 release, unmodified)
# against an installed Tide: unpack it, configure it with Tide's mpicc and a
# small mpiexec wrapper around Tide's mpirun, and let MPICH's runtests build
# and run either a curated list of tests or whole directories.  Prints one
# line per test (PASS, FAIL, KNOWN, FIXED, SKIP) and a summary.
#
#   test/mpich/run.sh [--list FILE] [--dirs d1,d2,...] [--work DIR]
#
#   --list FILE   run the tests of FILE ("dir/program nprocs [key=value...]",
#                 MPICH testlist syntax); every one must pass.
#   --dirs LIST   run MPICH's whole testlist of these directories; failures
#                 listed in test/mpich/expected-failures are reported as KNOWN
#                 and do not fail the run.
#   --work DIR    build here and keep it (default: a temporary folder that is
#                 removed at exit); a DIR configured before is reused.
#
# Environment: TIDE_PREFIX (Tide's install prefix), TIDE_SRCDIR (checkout),
# TIDE_MPICH_TARBALL (default $TIDE_SRCDIR/_deps/mpich_4.0.2.orig.tar.xz,
# fetched by scripts/fetch-deps.sh), TIDE_MPICH_TIMEOUT (seconds per test,
# default 120), TIDE_WIRE (default udp).
# Exit: 0 all passed (or only known failures), 1 failures, 77 no tarball.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${TIDE_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${TIDE_PREFIX:=$TIDE_SRCDIR/_install}"
: "${TIDE_MPICH_TARBALL:=$TIDE_SRCDIR/_deps/mpich_4.0.2.orig.tar.xz}"
: "${TIDE_MPICH_TIMEOUT:=120}"
export TIDE_WIRE="${TIDE_WIRE:-udp}"
expect_file="$here/expected-failures"

list="" dirs="" work=""
while [ $# -gt 0 ]; do
    case "$1" in
    --list) list=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --dirs) dirs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "usage: $0 [--list FILE] [--dirs d1,d2] [--work DIR]" >&2; exit 2 ;;
    esac
done
[ -n "$list$dirs" ] || dirs=attr,basic,coll,comm,datatype,errhan,group,info,init,pt2pt,util

if [ ! -f "$TIDE_MPICH_TARBALL" ]; then
    echo "SKIP: $TIDE_MPICH_TARBALL is missing (run scripts/fetch-deps.sh)" >&2
    exit 77
fi
for t in mpicc mpirun; do
    [ -x "$TIDE_PREFIX/bin/$t" ] || { echo "FAIL: $TIDE_PREFIX/bin/$t is not installed" >&2; exit 1; }
done
command -v perl >/dev/null || { echo "SKIP: perl (for MPICH's runtests) is missing" >&2; exit 77; }

if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/tide-mpich.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    trap 'exit 130' INT TERM
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
src="$work/mpich-4.0.2/test/mpi"
bld="$work/build"

unpack() {
    [ -f "$src/configure" ] && return 0
    echo "# unpacking MPICH's test/mpi from $TIDE_MPICH_TARBALL"
    tar -xJf "$TIDE_MPICH_TARBALL" -C "$work" mpich-4.0.2/test/mpi
}

# mpiexec for runtests: Tide's mpirun, ranks may exceed cores, killed after
# runtests' own per-test limit (MPIEXEC_TIMEOUT).
write_mpiexec() {
    cat >"$work/mpiexec" <<EOF
#!/bin/sh
exec "$TIDE_PREFIX/bin/mpirun" --oversubscribe --timeout "\${MPIEXEC_TIMEOUT:-$TIDE_MPICH_TIMEOUT}" "\$@"
EOF
    chmod +x "$work/mpiexec"
}

# Fortran, C++, one-sided, I/O, dynamic processes, partitioned communication,
# threads beyond funneled, fault tolerance and checkpointing: not in Tide.
configure_suite() {
    if [ -f "$bld/config.status" ] && grep -q -- "$TIDE_PREFIX/bin/mpicc" "$bld/config.status"; then
        return 0
    fi
    mkdir -p "$bld"
    echo "# configuring MPICH's test suite with $TIDE_PREFIX/bin/mpicc"
    (cd "$bld" && "$src/configure" CC="$TIDE_PREFIX/bin/mpicc" MPICC="$TIDE_PREFIX/bin/mpicc" \
        MPICXX=/bin/false MPIF77=/bin/false MPIFC=/bin/false MPIEXEC="$work/mpiexec" \
        --disable-fortran --disable-cxx --disable-romio --disable-spawn --disable-rma \
        --disable-part --disable-ft-tests --disable-checkpointing --disable-perftest \
        --disable-dependency-tracking --enable-threads=funneled >configure.out 2>&1) || {
        tail -30 "$bld/configure.out"
        echo "FAIL: configure of MPICH's test suite failed ($bld/configure.out)" >&2
        return 1
    }
    echo "# building MPICH's test utilities"
    (cd "$bld/util" && make >make.out 2>&1) || {
        tail -30 "$bld/util/make.out"
        echo "FAIL: MPICH's util/ does not build with Tide" >&2
        return 1
    }
}

# --list: write each directory's part of the list as testlist.tide there.
split_list() {
    local d
    rm -f "$bld"/*/testlist.tide
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list" | while read -r first rest; do
        d=${first%%/*}
        echo "${first#*/} $rest" >>"$bld/$d/testlist.tide"
    done
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e 's|/.*||' "$list" | awk '!s[$1]++' | paste -sd,
}

run_suite() { # listname dirs
    echo "# running MPICH's runtests ($2) with $work/mpiexec"
    (cd "$bld" && MPITEST_TIMEOUT=$TIDE_MPICH_TIMEOUT perl ./runtests -srcdir="$src" -tests="$1" \
        -testdirs="$2" -mpiexec="$work/mpiexec" -tapfile="$work/results.tap" >"$work/runtests.out" 2>&1)
    return 0
}

# TAP lines "ok  - ./dir/prog NP # time=..", "not ok ..", "ok .. # SKIP why"
# (runtests leaves the test number out).
report() {
    local mode=$1
    awk -v mode="$mode" -v expect="$expect_file" '
    BEGIN {
        while ((getline line < expect) > 0) {
            if (line ~ /^[[:space:]]*(#|$)/) continue
            split(line, f, /[[:space:]]+/)
            why = line; sub(/^[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]*/, "", why)
            known[f[1] " " f[2]] = why
        }
    }
    /^(not )?ok [0-9]* *- / {
        bad = ($1 == "not")
        line = $0; sub(/^(not )?ok [0-9]* *- \.\//, "", line)
        skip = (line ~ /# SKIP/)
        r = line; sub(/.*# SKIP /, "", r)
        sub(/[[:space:]]*#.*/, "", line)
        split(line, f, /[[:space:]]+/)
        key = f[1] " " (f[2] == "" ? "-" : f[2])
        if (!(key in known) && ((f[1] " *") in known))
            known[key] = known[f[1] " *"]
        if (skip) { printf "SKIP  %s (%s)\n", key, r; ns++; next }
        if (!bad && mode == "dirs" && (key in known)) { printf "FIXED %s (listed in expected-failures: remove it)\n", key; np++; next }
        if (!bad) { printf "PASS  %s\n", key; np++; next }
        if (mode == "dirs" && (key in known)) { printf "KNOWN %s (%s)\n", key, known[key]; nk++; next }
        printf "FAIL  %s\n", key; nf++
    }
    END {
        printf "# %d passed, %d failed, %d known failures, %d skipped\n", np, nf, nk, ns
        exit nf > 0
    }' "$work/results.tap"
}

unpack || { echo "FAIL: cannot unpack $TIDE_MPICH_TARBALL" >&2; exit 1; }
write_mpiexec
configure_suite || exit 1
if [ -n "$list" ]; then
    run_suite testlist.tide "$(split_list)"
    mode=list
else
    run_suite testlist "$dirs"
    mode=dirs
fi
[ -s "$work/results.tap" ] || { cat "$work/runtests.out"; echo "FAIL: runtests wrote no results" >&2; exit 1; }
rc=0
report "$mode" || rc=1
if [ $rc != 0 ]; then
    echo "# runtests output of the failed tests:"
    grep -v -e '^Looking in' -e '^Processing' "$work/runtests.out" | head -200
fi
exit $rc

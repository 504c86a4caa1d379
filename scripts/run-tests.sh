#!/usr/bin/env bash
# The README's second command (and CI's): set up and build Tide
# (scripts/setup.sh), then run the whole test suite and end with one line
# "N passed, M failed, K skipped"; exit non-zero on any failure.
# Long forms of soak/fuzz/load tests run with TIDE_TEST_LONG=1.
# TIDE_SANITIZE=1 (or all): the whole suite against an ASan+UBSan build of
# its own (configure --enable-sanitizers, -g -O1) in _build-san, installed
# into _install-san, so the normal _build is never touched; mpicc of that
# build adds the sanitizer flags to every MPI program the tests compile, and
# any sanitizer report fails the test that ran it (doc/reliability.md,
# "Sanitizers").  Not part of CI: on 2 cores it takes about an hour or more.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
conf=()
case "${TIDE_SANITIZE:-}" in
1 | all)
    export TIDE_BUILD_DIR="${TIDE_BUILD_DIR:-$top/_build-san}"
    export TIDE_PREFIX="${TIDE_PREFIX:-$top/_install-san}"
    conf=(--enable-sanitizers "CFLAGS=${TIDE_SAN_OPT:--g -O1}")
    echo "== ASan+UBSan build of the whole suite in $TIDE_BUILD_DIR"
    ;;
esac
"$top/scripts/setup.sh" "${conf[@]}" || { echo "0 passed, 1 failed (setup/build)"; exit 1; }
build=${TIDE_BUILD_DIR:-$top/_build}
cd "$build"
echo "== running the test suite (logs: $build/test-suite.log and each test's .log)"
rm -f test-suite.log
make -j"${TIDE_TEST_JOBS:-2}" check >check.out 2>&1
rc=$?
grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):' check.out
if [ -f test-suite.log ]; then
    # Show the logs of what failed, so CI output alone explains it.
    awk '/^(FAIL|ERROR|XPASS): /{print $2}' check.out | while read -r t; do
        echo "---- $t.log ----"
        tail -40 "$t.log" 2>/dev/null
    done
fi
count() { grep -E "^$1: " check.out | wc -l; }
pass=$(($(count PASS) + $(count XFAIL)))
fail=$(($(count FAIL) + $(count XPASS) + $(count ERROR)))
skipped=$(count SKIP)
if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
    tail -30 check.out
    fail=1 # the build of the tests themselves failed
fi
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ] && [ "$rc" = 0 ]

#!/usr/bin/env bash
# The README's second command (and CI's): set up and build Tide
# (scripts/setup.sh), then run the whole test suite and end with one line
# "N passed, M failed, K skipped"; exit non-zero on any failure.
# Long forms of soak/fuzz/load tests run with TIDE_TEST_LONG=1.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" || { echo "0 passed, 1 failed (setup/build)"; exit 1; }
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

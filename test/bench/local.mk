# test/bench: the benchmarks build and run a few iterations (bench/compare,
# the real comparison, stays out of CI).
TESTS += test/bench/t-bench-smoke.sh
EXTRA_DIST += test/bench/t-bench-smoke.sh

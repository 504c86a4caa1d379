# test/hardening: hostile input and sanitizers (issue 9, items 4-5).
#   t-fuzz.sh      builds the libFuzzer targets (fuzz/) and runs each
#                  TIDE_FUZZ_SECONDS (CI: 20) seconds; skips without clang.
TESTS += test/hardening/t-fuzz.sh
EXTRA_DIST += test/hardening/t-fuzz.sh

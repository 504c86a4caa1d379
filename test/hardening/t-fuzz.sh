#!/bin/bash
# The libFuzzer targets (fuzz/): build them with clang (fuzzer, ASan, UBSan)
# and run each for a bounded time from its seed corpus.  CI: 20 s each;
# longer on demand: TIDE_FUZZ_SECONDS=N (per target).  Skips when clang
# cannot link -fsanitize=fuzzer.  A finding fails the test and leaves the
# input in $TIDE_BUILDDIR/fuzz/bin/crash-* with the command to replay it.
. "$TIDE_SRCDIR/test/lib.sh"
command -v clang >/dev/null || skip "clang not installed (apt-get install clang)"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$T/probe.c"
clang -fsanitize=fuzzer,address,undefined "$T/probe.c" -o "$T/probe" 2>"$T/probe.log" ||
    skip "clang cannot link -fsanitize=fuzzer: $(head -2 "$T/probe.log")"
bin="$TIDE_BUILDDIR/fuzz/bin"
"$TIDE_SRCDIR/fuzz/build.sh" "$TIDE_SRCDIR" "$TIDE_BUILDDIR" "$bin" || fail "fuzz targets do not build"
export TIDE_FUZZ_SECONDS="${TIDE_FUZZ_SECONDS:-20}"
"$TIDE_SRCDIR/fuzz/run.sh" "$TIDE_SRCDIR" "$bin" || fail "a fuzz target found a problem (see above)"

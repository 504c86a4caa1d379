#!/bin/bash
# Run Tide's fuzz targets, each for TIDE_FUZZ_SECONDS (default 20) seconds.
#   fuzz/run.sh SRCDIR BINDIR [TARGET...]
# Each target starts from a copy of fuzz/corpus/<target> (the checked-in
# corpus is not changed; set TIDE_FUZZ_KEEP=DIR to keep what was found).
# A crash, leak or timeout fails the run; its input is copied to
# BINDIR/crash-<target>-* and the way to replay it is printed.
set -u
src=$1 bin=$2
shift 2
targets=${*:-stream_input p2p_frame}
secs=${TIDE_FUZZ_SECONDS:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/tide-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
rc=0
for t in $targets; do
    mkdir -p "$work/$t"
    cp -r "$src/fuzz/corpus/$t/." "$work/$t/"
    echo "# fuzz-$t: ${secs}s from $(ls "$work/$t" | wc -l) seeds"
    "$bin/fuzz-$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=1024 \
        -print_final_stats=1 -artifact_prefix="$work/$t-" "$work/$t" >"$work/$t.log" 2>&1
    r=$?
    grep -E '^stat::number_of_executed_units|^stat::new_units_added|cov: .*DONE|^#[0-9]+.*DONE' \
        "$work/$t.log" | sed 's/^/#   /'
    if [ $r -ne 0 ]; then
        rc=1
        tail -60 "$work/$t.log"
        for a in "$work/$t-"*; do
            [ -f "$a" ] || continue
            cp "$a" "$bin/crash-$t-$(basename "$a" | sed "s/^$t-//")"
            echo "FAIL: fuzz-$t found $(basename "$a"); replay: $bin/fuzz-$t $bin/crash-$t-$(basename "$a" | sed "s/^$t-//")"
        done
    fi
    if [ -n "${TIDE_FUZZ_KEEP:-}" ]; then
        mkdir -p "$TIDE_FUZZ_KEEP/$t" && cp -r "$work/$t/." "$TIDE_FUZZ_KEEP/$t/"
    fi
done
exit $rc

#!/usr/bin/env bash
# Bench smoke test: every MPI benchmark in bench/ builds with the installed
# mpicc and runs a few iterations at small sizes over the udp wire with its
# data validated (-c), the kernel socket floor runs on loopback, and
# bench/compare parses; so the benchmarks cannot rot.  The real comparison
# (bench/compare) stays out of CI.
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
B="$TIDE_SRCDIR/bench"
run() { # run PROG ARGS...: 2 ranks, output checked for a passed validation
    local p=$1
    shift
    tide_build "bench/$p.c" "$T/$p"
    note "mpirun -np 2 $p $*"
    "$MPIRUN" --timeout 60 -np 2 -x TIDE_WIRE=udp "$T/$p" "$@" >"$T/$p.out" 2>&1 ||
        fail "$p $* exited non-zero: $(cat "$T/$p.out")"
    grep -q "validation: passed" "$T/$p.out" || fail "$p: no passed validation: $(cat "$T/$p.out")"
    ! grep -q "FAILED" "$T/$p.out" || fail "$p: validation failed: $(cat "$T/$p.out")"
    # every size from min to max has a line with numbers
    [ "$(grep -c '^[0-9]' "$T/$p.out")" -ge "$(( $(grep -c . <<<"$SIZES") ))" ] ||
        fail "$p: missing result lines: $(cat "$T/$p.out")"
}
SIZES=$(printf '%s\n' 1 2 4 8 16 32 64 128 256 512 1024 2048 4096)
for p in latency ssend_lat multi_lat; do run $p -m 1:4096 -i 20 -x 2 -c; done
for p in bw bibw mbw_mr; do run $p -m 1:4096 -i 3 -x 1 -W 4 -c; done
SIZES=$(printf '%s\n' 1024 2048 4096 8192 16384 32768 65536)
run overlap -m 1K:64K -i 3 -x 1 -c
grep -Eq '^65536 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$T/overlap.out" ||
    fail "overlap: bad columns: $(cat "$T/overlap.out")"

# the kernel socket floor, on loopback
cc -O2 -Wall -Wextra -Werror -o "$T/floor_sock" "$B/floor_sock.c" || fail "floor_sock does not build"
port=$((20000 + RANDOM % 20000))
spid=""
tide_on_exit '[ -n "$spid" ] && kill $spid'
for mode in "tcp lat" "udp lat" "tcp bw"; do
    set -- $mode
    "$T/floor_sock" -p $1 -m 1:4096 -i 20 -x 2 -W 4 -P $port $2 server &
    spid=$!
    timeout 30 "$T/floor_sock" -p $1 -m 1:4096 -i 20 -x 2 -W 4 -P $port $2 client 127.0.0.1 \
        >"$T/floor.out" || fail "floor_sock $mode failed"
    wait $spid || fail "floor_sock $mode server failed"
    spid=""
    [ "$(grep -c '^[0-9]' "$T/floor.out")" = 13 ] || fail "floor_sock $mode: $(cat "$T/floor.out")"
    port=$((port + 1))
done
bash -n "$B/compare" || fail "bench/compare does not parse"
"$B/compare" --help | grep -q -- "--quick" || fail "bench/compare --help"
assert_no_leftovers
exit 0

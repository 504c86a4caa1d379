#!/usr/bin/env bash
# Resource bounds (doc/reliability.md, "Resource bounds").
#  1. Unexpected-message flood: rank 0 sends 1,000,000 eager 64-byte messages
#     to rank 1, which stays outside MPI until rank 0 is done or blocked.
#     With TIDE_P2P_UNEXPECTED_MAX=4m rank 1 stops reading the stream at the
#     bound, the window closes and rank 0 blocks; rank 1's resident memory
#     may grow by at most 24 MiB (bound + stream buffers + slack) -- without
#     flow control the queue alone would take ~200 MB -- and then it
#     receives all messages, in order.  Meanwhile rank 2 sends rank 1 one
#     message for a receive it posted before going busy: it must arrive
#     during the flood (only the flooding stream is held back).  A control
#     run without the bound
#     (120,000 messages) must grow by more than 16 MiB, which shows the
#     measurement sees an unbounded queue.
#  2. Memory per connection: 16 ranks (oversubscribed) exchange one message
#     with every other rank; resident growth per peer and Tide's own buffer
#     accounting (TIDE_P2P_REPORT) are printed.
#   TIDE_FLOOD_MSGS=N   messages of the bounded flood (default 1000000)
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
tide_build test/fault/flood.c "$T/flood" -O2
n=${TIDE_FLOOD_MSGS:-1000000}
flood() { # flood MSGS BOUND
    "$MPIRUN" --timeout "$(tide_secs 150)" -np 3 --oversubscribe -x FLOOD_PROGRESS="$T/progress" -x TIDE_P2P_REPORT=1 \
        -x TIDE_P2P_UNEXPECTED_MAX="$2" "$T/flood" flood "$1" 64 3 >"$T/out" 2>"$T/err" ||
        fail "flood of $1 messages failed: $(tail -5 "$T/err")"
    cat "$T/out"
    grep "proc=1 " "$T/err"
    base=$(grep -o "rss_base_kb=[0-9]*" "$T/out" | cut -d= -f2)
    peak=$(grep -o "peak_busy_kb=[0-9]*" "$T/out" | cut -d= -f2)
    [ -n "$base" ] && [ -n "$peak" ] || fail "no figures from the flood"
    grow=$((peak - base))
}
note "bounded flood: $n messages, TIDE_P2P_UNEXPECTED_MAX=4m"
flood "$n" 4m
note "resident growth while busy: $grow KiB"
[ "$grow" -le $((24 * 1024)) ] || fail "memory grew by $grow KiB under a 4 MiB bound"
grep "proc=1 " "$T/err" | grep -q "input_stalls=[1-9]" || fail "flow control never engaged"
grep -q "other_peer=ok" "$T/out" || fail "a message from another rank was held back by the flood"
note "control: 120000 messages without a bound"
flood 120000 1g
note "resident growth while busy: $grow KiB"
[ "$grow" -gt $((16 * 1024)) ] || fail "unbounded control grew only $grow KiB: the check is blind"
note "memory per connection, 16 ranks"
"$MPIRUN" --timeout "$(tide_secs 150)" -np 16 --oversubscribe -x TIDE_P2P_REPORT=1 "$T/flood" conn \
    >"$T/out" 2>"$T/err" || fail "conn run failed: $(tail -5 "$T/err")"
sort -k3 -n "$T/out" | head -3
grep "proc=0 " "$T/err"
awk -F'per_peer_kb=' '/^conn:/ {s += $2; n++} END {printf "# mean resident growth per peer: %.1f KiB over %d ranks\n", s / n, n}' "$T/out"
[ "$(grep -c '^conn:' "$T/out")" = 16 ] || fail "not every rank reported"
assert_no_leftovers

#!/usr/bin/env bash
# mpirun's stdin goes to rank 0 (all of it, in order, also more than a pipe
# holds); the other ranks read end-of-file.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/stdin.c "$T/stdin"
printf 'first line\nsecond line\n' >"$T/in"
RC=0
timeout 60 "$MPIRUN" -np 2 "$T/stdin" <"$T/in" >"$T/out" 2>"$T/err" || RC=$?
launch_expect_rc 0
[ "$(grep '^echo: ' "$T/out")" = "$(printf 'echo: first line\necho: second line')" ] ||
    fail "rank 0 did not echo stdin: $(cat "$T/out")"
launch_out_has "^rank 1 stdin eof$"
# 200000 lines through a pipe
seq 1 200000 >"$T/big"
RC=0
seq 1 200000 | timeout 60 "$MPIRUN" -np 1 "$T/stdin" >"$T/out" 2>"$T/err" || RC=$?
launch_expect_rc 0
sed 's/^echo: //' "$T/out" | cmp -s - "$T/big" || fail "stdin through a pipe arrived changed"
# no stdin at all (closed): rank 0 sees end-of-file
RC=0
timeout 60 "$MPIRUN" -np 1 "$T/stdin" <&- >"$T/out" 2>"$T/err" || RC=$?
launch_expect_rc 0
assert_no_leftovers
launch_no_tmpdirs

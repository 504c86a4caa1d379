#!/usr/bin/env bash
# mpirun starts N ranks that each print once: -np 1, 2 and 4; every rank's
# stdout and stderr line arrives exactly once, and mpirun exits 0.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/hello.c "$T/hello"
for np in 1 2 4; do
    launch_run -np $np $(launch_oversub $np) "$T/hello"
    launch_expect_rc 0
    [ "$(wc -l <"$T/out")" = $np ] || fail "-np $np: expected $np lines: $(cat "$T/out")"
    for r in $(seq 0 $((np - 1))); do
        [ "$(grep -cx "hello from rank $r of $np" "$T/out")" = 1 ] || fail "-np $np: rank $r: $(cat "$T/out")"
        [ "$(grep -cx "stderr of rank $r" "$T/err")" = 1 ] || fail "-np $np: stderr of rank $r: $(cat "$T/err")"
    done
    note "-np $np ok"
done
# -n is -np; "--" ends the options
launch_run -n 2 -- "$T/hello"
launch_expect_rc 0
[ "$(grep -c "of 2$" "$T/out")" = 2 ] || fail "-n 2 --: $(cat "$T/out")"
assert_no_leftovers
launch_no_tmpdirs

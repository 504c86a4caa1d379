#!/usr/bin/env bash
# --tag-output prefixes every line with [1,rank]<stdout>: or <stderr>:.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/hello.c "$T/hello"
launch_run -np 2 --tag-output "$T/hello"
launch_expect_rc 0
for r in 0 1; do
    [ "$(grep -cx "\[1,$r\]<stdout>: hello from rank $r of 2" "$T/out")" = 1 ] || fail "stdout: $(cat "$T/out")"
    [ "$(grep -cx "\[1,$r\]<stderr>: stderr of rank $r" "$T/err")" = 1 ] || fail "stderr: $(cat "$T/err")"
done
[ "$(wc -l <"$T/out")" = 2 ] || fail "extra lines: $(cat "$T/out")"
# a last line without newline is still tagged and ended
launch_run -np 1 --tag-output sh -c 'printf "no newline"'
launch_expect_rc 0
[ "$(cat "$T/out")" = "[1,0]<stdout>: no newline" ] || fail "partial line: $(cat "$T/out")"
# untagged, it is passed through as it is
launch_run -np 1 sh -c 'printf "no newline"'
[ "$(od -c <"$T/out")" = "$(printf 'no newline' | od -c)" ] || fail "partial line untagged: $(cat "$T/out")"
launch_no_tmpdirs

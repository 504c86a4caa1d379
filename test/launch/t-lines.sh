#!/usr/bin/env bash
# Lines of 100000 bytes, written by 2 ranks at once in small pieces, come
# out whole: every output line is one rank's letter repeated, none lost.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/lines.c "$T/lines"
for tag in "" --tag-output; do
    launch_run -np 2 $(launch_oversub 2) $tag "$T/lines" 50 100000
    launch_expect_rc 0
    sed 's/^\[1,[01]\]<stdout>: //' "$T/out" >"$T/body"
    [ "$(wc -l <"$T/body")" = 100 ] || fail "$tag: expected 100 lines, got $(wc -l <"$T/body")"
    bad=$(awk 'length($0) != 100000 || ($0 !~ /^a+$/ && $0 !~ /^b+$/) { n++ } END { print n + 0 }' "$T/body")
    [ "$bad" = 0 ] || fail "$tag: $bad mixed or cut lines"
    [ "$(grep -c '^a' "$T/body")" = 50 ] || fail "$tag: rank 0 lines missing"
    if [ -n "$tag" ]; then
        [ "$(grep -c '^\[1,1\]<stdout>: b' "$T/out")" = 50 ] || fail "tags do not match ranks"
    fi
done
launch_no_tmpdirs

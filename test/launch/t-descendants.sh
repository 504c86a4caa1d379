#!/usr/bin/env bash
# A rank that leaves a background process behind (holding its stdout open)
# neither keeps mpirun waiting nor survives the job: it is in the rank's
# process group, which mpirun kills at the end.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
cp /bin/sleep "$T/sleep"
start=$(date +%s)
launch_run -np 2 sh -c "$T/sleep 100 & echo started"
took=$(($(date +%s) - start))
launch_expect_rc 0
[ "$(grep -c '^started$' "$T/out")" = 2 ] || fail "output: $(cat "$T/out")"
[ $took -lt 20 ] || fail "mpirun waited ${took}s for a background process"
assert_no_leftovers
launch_no_tmpdirs

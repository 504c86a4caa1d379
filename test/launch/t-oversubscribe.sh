#!/usr/bin/env bash
# More ranks than cores is refused (nothing starts) unless --oversubscribe;
# then all ranks run, unbound.  --bind-to core cannot oversubscribe.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/affinity.c "$T/affinity"
np=$(($(launch_cores) + 1))
launch_run -np $np "$T/affinity"
launch_expect_rc 1
launch_err_has "not enough slots: $np ranks requested"
launch_err_has "oversubscribe"
[ ! -s "$T/out" ] || fail "ranks ran although refused: $(cat "$T/out")"

launch_run -np $np --oversubscribe --report-bindings "$T/affinity"
launch_expect_rc 0
[ "$(grep -c '^rank [0-9]* cpus' "$T/out")" = $np ] || fail "not all $np ranks ran: $(cat "$T/out")"
[ "$(grep -c 'not bound' "$T/err")" = $np ] || fail "oversubscribed ranks bound: $(cat "$T/err")"

launch_run -np $np --oversubscribe --bind-to core "$T/affinity"
launch_expect_rc 1
launch_err_has "cannot bind $np ranks"
assert_no_leftovers
launch_no_tmpdirs

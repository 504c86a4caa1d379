#!/usr/bin/env bash
# -x VAR passes mpirun's VAR, -x VAR=value sets it (also over an inherited
# value) for every rank.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/env.c "$T/env"
export TIDE_T_INHERIT=outer
launch_run -np 2 -x TIDE_T_SET=hello\ world -x TIDE_T_INHERIT=inner -x TIDE_T_UNSET \
    "$T/env" TIDE_T_SET TIDE_T_INHERIT TIDE_T_NONE
launch_expect_rc 0
for r in 0 1; do
    launch_out_has "^rank $r TIDE_T_SET=hello world$"
    launch_out_has "^rank $r TIDE_T_INHERIT=inner$"
    launch_out_has "^rank $r TIDE_T_NONE=(unset)$"
done
launch_err_has "warning: -x TIDE_T_UNSET: TIDE_T_UNSET is not set"
TIDE_T_PASS=passed launch_run -np 2 -x TIDE_T_PASS "$T/env" TIDE_T_PASS
launch_expect_rc 0
[ "$(grep -c "TIDE_T_PASS=passed$" "$T/out")" = 2 ] || fail "-x TIDE_T_PASS: $(cat "$T/out")"
[ ! -s "$T/err" ] || fail "unexpected stderr: $(cat "$T/err")"
launch_run -np 1 -x =x "$T/env"
launch_expect_rc 1
launch_no_tmpdirs

#!/usr/bin/env bash
# Command line: --help, --version, errors for bad options, a missing
# program (127) or no program at all.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
launch_run --help
launch_expect_rc 0
for o in -np -x --tag-output --timeout --bind-to --map-by --report-bindings --oversubscribe --version; do
    launch_out_has "$o"
done
launch_run --version
launch_expect_rc 0
launch_out_has "^mpirun (Tide) "
launch_out_has "^PMIx "
for bad in "-np 0 true" "-np x true" "--bind-to hwthread true" "--map-by nowhere true" \
    "--map-by ppr:0:node true" "--map-by ppr:2:rack true" "--host true" \
    "--hostfile /nonexistent true" "--timeout -1 true" "--no-such-option true" "-np 2" "-np"; do
    # shellcheck disable=SC2086
    launch_run $bad
    launch_expect_rc 1
    [ -s "$T/err" ] || fail "no message for: $bad"
done
launch_run -np 0 true
launch_err_has "^mpirun: -np: '0' is not a whole number >= 1$"
launch_run -np 2 "$T/no-such-program"
launch_expect_rc 127
launch_err_has "no-such-program"
launch_run -np 1 no-such-program-in-path
launch_expect_rc 127
launch_err_has "cannot find the program 'no-such-program-in-path'"
# option spellings: one dash, --opt=value
launch_run -np=2 -tag-output --bind-to=none -- sh -c 'echo x'
launch_expect_rc 0
[ "$(grep -c '^\[1,[01]\]<stdout>: x$' "$T/out")" = 2 ] || fail "spellings: $(cat "$T/out")"
launch_no_tmpdirs

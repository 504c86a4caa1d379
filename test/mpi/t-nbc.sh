#!/usr/bin/env bash
# Nonblocking collectives and collectives on derived datatypes
# (test/mpi/nbc.c) as a singleton and under mpirun at 2, 4 and 6 ranks
# (oversubscribed above 2), then at 3 ranks with a tiny eager limit (the
# schedules' large steps go by rendezvous) and at 4 ranks without the
# asynchronous progress thread.
. "$TIDE_SRCDIR/test/lib.sh"
tide_build test/mpi/nbc.c "$T/nbc"
note "singleton"
"$T/nbc" || fail "nonblocking collectives failed as a singleton"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
run() {
    note "mpirun $*"
    "$MPIRUN" --timeout 240 -x TIDE_WIRE=udp "$@" "$T/nbc" || fail "nbc failed: mpirun $*"
}
run -np 2
run -np 4 --oversubscribe
run -np 6 --oversubscribe
run -np 3 --oversubscribe -x TIDE_EAGER_LIMIT=256
run -np 4 --oversubscribe -x TIDE_ASYNC_PROGRESS=0
assert_no_leftovers

#!/usr/bin/env bash
# Peer faults (doc/reliability.md, "Link and peer faults"): a rank killed
# with SIGKILL in the middle of traffic.
#  1. Default error handler: mpirun ends the whole job (exit 137, naming the
#     rank) within seconds; no process is left behind.
#  2. With mpirun --enable-recovery and MPI_ERRORS_RETURN: the survivors get
#     MPI_ERR_PROC_FAILED -- rank 0 on the transfer it was in (from the
#     transport or the PMIx event, whichever first), the others on a pending
#     receive from the dead rank (only the PMIx event can tell them: they
#     never talked to it) -- within the bound, and later calls fail at once.
#  3. A rank dead before anyone talked to it, failure events off: rank 0's
#     first message to it (a connection attempt) fails within
#     TIDE_P2P_PEER_TIMEOUT, not after the stream's SYN retries (~13 s).
# Over udp on loopback (the failure paths do not depend on the wire).
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
tide_build test/fault/peerfail.c "$T/peerfail"
np=3

note "SIGKILL, default error handler: the job ends"
start=$(date +%s)
rc=0
"$MPIRUN" --timeout 60 -np $np --oversubscribe "$T/peerfail" killfatal 0 >"$T/out" 2>&1 || rc=$?
took=$(($(date +%s) - start))
cat "$T/out" | grep -v "^tide" | head -5
[ "$rc" = 137 ] || fail "expected mpirun to exit 137 (rank killed by SIGKILL), got $rc"
grep -q "killed by signal 9" "$T/out" || fail "mpirun did not name the killed rank"
[ "$took" -le 20 ] || fail "the job took $took s to end"
assert_no_leftovers

if "$MPIRUN" --help 2>&1 | grep -q -- --enable-recovery; then
    note "SIGKILL, MPI_ERRORS_RETURN, mpirun --enable-recovery: survivors are told"
    rc=0
    "$MPIRUN" --timeout 60 --enable-recovery -np $np --oversubscribe "$T/peerfail" kill 10 \
        >"$T/out" 2>&1 || rc=$?
    grep "^rank" "$T/out"
    [ "$(grep -c "^rank [0-9]: call with rank $((np - 1)) failed .*(MPI_ERR_PROC_FAILED)" "$T/out")" = $((np - 1)) ] ||
        fail "survivors did not all see MPI_ERR_PROC_FAILED in time: $(cat "$T/out")"
    grep -q "later send/recv" "$T/out" && fail "later calls to the dead rank did not fail at once"
    [ "$rc" = 137 ] || fail "expected mpirun to report the SIGKILL (137), got $rc: $(tail -5 "$T/out")"
    assert_no_leftovers

    note "first contact with a rank that died before anyone talked to it (transport only)"
    rc=0
    "$MPIRUN" --timeout 60 --enable-recovery -np 3 --oversubscribe -x TIDE_P2P_FAILURE_EVENTS=0 \
        -x TIDE_P2P_PEER_TIMEOUT=3s "$T/peerfail" first "$(tide_secs 5)" >"$T/out" 2>&1 || rc=$?
    grep "^rank" "$T/out"
    grep -q "^rank 0: call with rank 2 failed .*(MPI_ERR_PROC_FAILED)" "$T/out" ||
        fail "the connection attempt to the dead rank was not bounded by TIDE_P2P_PEER_TIMEOUT: $(cat "$T/out")"
    grep -q "later send/recv" "$T/out" && fail "later calls to the dead rank did not fail at once"
    [ "$rc" = 137 ] || fail "expected mpirun to report the SIGKILL (137), got $rc: $(tail -5 "$T/out")"
    assert_no_leftovers
else
    note "mpirun has no --enable-recovery: survivor part not run"
fi

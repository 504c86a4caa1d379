#!/usr/bin/env bash
# Process failure beyond the named peer (doc/reliability.md): 4 ranks, the
# last killed with SIGKILL while the others sit in an MPI_ANY_SOURCE
# receive, MPI_Barrier, MPI_Allreduce, a 1 MiB MPI_Bcast rooted at rank 0
# or MPI_Ibarrier + MPI_Wait (test/fault/ulfm.c checks each survivor:
# MPI_ERR_PROC_FAILED within the bound, later collectives and ANY_SOURCE
# receives fail at once, MPI_ERR_PROC_FAILED_PENDING keeps a nonblocking
# one pending, survivors still exchange messages, MPIX_Comm_failure_ack
# lets ANY_SOURCE match again).
#  1. mpirun --enable-recovery: the survivors learn from the PMIx event
#     (~0.1 s; bound 2 s after the kill for a loaded machine -- the
#     transport's own 10 s timeout would miss it).
#  2. The same with TIDE_P2P_FAILURE_EVENTS=0 and TIDE_P2P_PEER_TIMEOUT=2s:
#     only rank 0 ever talked to the victim; it times the victim out and
#     its notice tells the others (bound: the timeout + 2 s of slack; the
#     others' own first connection would give up only after ~13 s).
# Bounds scale with TIDE_TIME_SCALE (sanitized builds).
#  3. Without --enable-recovery: mpirun ends the whole job (exit 137, the
#     rank named), nothing left behind.
#  4. A host whose link stays down, no recovery, no event (root only): 4
#     ranks over eth on veths to a bridge in a namespace of the test's own;
#     at the kill time rank 3 takes its own link down and stays alive: the
#     survivors, in MPI_Barrier, learn it from rank 0's timeout
#     (TIDE_P2P_PEER_TIMEOUT=2s) and notice within 4 s and pass every check;
#     then rank 3 kills itself and the job ends.
# Over udp on loopback.  TIDE_ULFM_FULL=1 runs every operation in part 2
# too (CI: barrier and anysource only).
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
"$MPIRUN" --help 2>&1 | grep -q -- --enable-recovery || skip "mpirun has no --enable-recovery"
tide_build test/fault/ulfm.c "$T/ulfm"
np=4
all_ops="anysource barrier allreduce bcast ibarrier"

# run_case LABEL OP LIMIT [ENV...]: one job; every survivor must say OK.
run_case() {
    local label=$1 op=$2 limit=$3
    shift 3
    local rc=0 start=$(date +%s)
    env "$@" "$MPIRUN" --timeout 60 --enable-recovery -np $np --oversubscribe "$T/ulfm" "$op" \
        "$limit" >"$T/out" 2>&1 || rc=$?
    local took=$(($(date +%s) - start))
    grep "^rank [0-9]: $op failed" "$T/out" | sed "s/^/  $label: /"
    if grep -q "FAIL" "$T/out" || [ "$(grep -c "^rank [0-9]: OK $op" "$T/out")" != $((np - 1)) ]; then
        cat "$T/out" >&2
        fail "$label $op: not every survivor passed"
    fi
    [ "$rc" = 137 ] || fail "$label $op: expected mpirun to report the SIGKILL (137), got $rc"
    note "$label $op: passed in $took s"
    assert_no_leftovers
}

note "1. PMIx failure event (mpirun --enable-recovery)"
for op in $all_ops; do
    run_case event "$op" "$(tide_secs 2)"
done

note "2. no event: the transport's timeout and the detector's notice"
ops2="anysource barrier"
[ "${TIDE_ULFM_FULL:-0}" = 1 ] && ops2=$all_ops
for op in $ops2; do
    run_case notice "$op" "$(tide_secs 4)" TIDE_P2P_FAILURE_EVENTS=0 TIDE_P2P_PEER_TIMEOUT=2s
done

note "3. without --enable-recovery: the job ends"
rc=0
start=$(date +%s)
"$MPIRUN" --timeout 60 -np $np --oversubscribe "$T/ulfm" barrier 1.0 >"$T/out" 2>&1 || rc=$?
took=$(($(date +%s) - start))
[ "$rc" = 137 ] || fail "expected mpirun to exit 137 (rank killed by SIGKILL), got $rc: $(tail -5 "$T/out")"
grep -q "killed by signal 9" "$T/out" || fail "mpirun did not name the killed rank"
[ "$took" -le 20 ] || fail "the job took $took s to end"
assert_no_leftovers
note "job ended in $took s"

note "4. a link down for good, no recovery, no event"
[ "$(id -u)" = 0 ] || { note "not root: part 4 not run"; exit 0; }
ns="tide-ulfm-$$-$RANDOM"
ip netns add "$ns" 2>/dev/null || { note "no network namespace: part 4 not run"; exit 0; }
tide_on_exit "ip netns del $ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" link set br0 up
for i in 0 1 2 3; do
    ip -n "$ns" link add "e$i" type veth peer name "p$i"
    ip -n "$ns" link set "p$i" master br0 up
    ip -n "$ns" link set "e$i" up
done
for i in 0 1 2 3; do
    for _ in $(seq 50); do
        ip netns exec "$ns" grep -q 1 "/sys/class/net/e$i/carrier" 2>/dev/null && break
        sleep 0.1
    done
done
rc=0
ip netns exec "$ns" "$MPIRUN" --timeout 60 -x TIDE_WIRE=eth -x TIDE_ETH_IF=e0,e1,e2,e3 \
    -x TIDE_P2P_PEER_TIMEOUT=2s -x "ULFM_ISOLATE=ip link set e3 down" -np $np --oversubscribe \
    "$T/ulfm" barrier "$(tide_secs 4)" >"$T/out" 2>&1 || rc=$?
grep "^rank [0-9]: barrier failed" "$T/out" | sed "s/^/  link: /"
if grep -q "FAIL" "$T/out" || [ "$(grep -c "^rank [0-9]: OK barrier" "$T/out")" != $((np - 1)) ]; then
    cat "$T/out" >&2
    fail "link down: not every survivor passed"
fi
[ "$rc" = 137 ] || fail "link down: expected the job to end with rank 3's SIGKILL (137), got $rc"
assert_no_leftovers

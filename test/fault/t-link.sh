#!/usr/bin/env bash
# Link faults over the eth wire (doc/reliability.md, "Link and peer faults").
# Two ranks in a namespace of their own, one on each end of a veth pair.
#  1. The link goes down for 3 s in the middle of a transfer of checksummed
#     messages (4 KiB - 4 MiB, rendezvous and synchronous), then up again:
#     every message arrives intact, in order; retransmissions bridge the gap.
#  2. The link goes down for good: both ranks, under MPI_ERRORS_RETURN, get
#     MPI_ERR_PROC_FAILED within TIDE_P2P_PEER_TIMEOUT of
#     their last completed call (3 s of slack for a loaded machine), and later
#     calls to the peer fail at once.
#     Run with the default bound (10 s) and with TIDE_P2P_PEER_TIMEOUT=3s.
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces and raw sockets"
tide_build test/fault/peerfail.c "$T/peerfail"
ns="tide-link-$$-$RANDOM"
ip netns add "$ns" || skip "cannot create a network namespace"
tide_on_exit "ip netns del $ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add ta type veth peer name tb
ip -n "$ns" link set ta mtu 9000 up
ip -n "$ns" link set tb mtu 9000 up
# Wait (at most 60 s: start-up is slow on a loaded machine) until the job
# printed "started" (all ranks initialised), then $1 more seconds.
wait_started() {
    for _ in $(seq 600); do
        grep -q "^started" "$T/out" 2>/dev/null && { sleep "$1"; return 0; }
        kill -0 "$job" 2>/dev/null || return 0
        sleep 0.1
    done
    fail "the job did not start in 60 s: $(cat "$T/out")"
}
mpirun_ns() {
    ip netns exec "$ns" "$MPIRUN" --timeout 100 -x TIDE_WIRE=eth -x TIDE_ETH_IF=ta,tb "$@"
}

note "link down 3 s in the middle of a transfer"
mpirun_ns -np 2 "$T/peerfail" transfer 8 >"$T/out" 2>&1 &
job=$!
tide_on_exit "kill $job"
wait_started 2
ip -n "$ns" link set tb down
sleep 3
ip -n "$ns" link set tb up
wait $job || fail "transfer across a 3 s link outage failed: $(cat "$T/out")"
cat "$T/out"
grep -q "^transfer: .* intact" "$T/out" || fail "no verdict: $(cat "$T/out")"

for bound in 3 10; do
    note "link down for good, TIDE_P2P_PEER_TIMEOUT=${bound}s"
    start=$(date +%s)
    rm -f "$T/out" # the job truncates it only once it runs: no stale "started"
    mpirun_ns -np 2 -x TIDE_P2P_PEER_TIMEOUT=${bound}s "$T/peerfail" detect $((bound + 3)) \
        >"$T/out" 2>&1 &
    job=$!
    wait_started 1
    ip -n "$ns" link set ta down
    wait $job || fail "failure not reported as MPI_ERR_PROC_FAILED in time: $(cat "$T/out")"
    ip -n "$ns" link set ta up
    grep "^rank" "$T/out"
    grep "^rank" "$T/out" | grep -v "MPI_ERR_PROC_FAILED" | grep -q . && fail "wrong class: $(cat "$T/out")"
    [ "$(grep -c "MPI_ERR_PROC_FAILED" "$T/out")" = 2 ] || fail "both ranks must report: $(cat "$T/out")"
    note "whole run: $(($(date +%s) - start)) s"
done
assert_no_leftovers

#!/usr/bin/env bash
# Soak under injected wire faults (doc/reliability.md, "Soak").  test/mpi/soak.c
# (random sizes 0 B - 8 MiB, random tags, every send mode, ANY_SOURCE,
# blocking and nonblocking, every byte and MPI's order checked) on 4 ranks
# over the eth wire across two test hosts (network namespaces on a bridge,
# test/net/netlib.sh, MTU 9000; one mpirun daemon in each, started with
# --launch-agent "ip netns exec"), 2 ranks per host, with TIDE_WIRE_FAULTS
# dropping, duplicating, reordering and corrupting frames.  An mpirun
# without --launch-agent runs all ranks in one namespace on the two ends of
# a veth pair instead.  Passes when the program finds zero errors and faults
# were really injected and repaired (retransmissions).
#
#   TIDE_SOAK_SECONDS=N   run time of the CI form (default 40)
#   TIDE_SOAK_SEED=N      plan and fault seed (default: random, printed)
#   TIDE_SOAK_LONG=1      long form: until 10 GB have been sent (at most
#                         TIDE_SOAK_SECONDS, default then 7200 s), 8 ranks
#                         (4 per host)
#   TIDE_SOAK_BYTES=N     byte goal of the long form (default 10000000000)
#   TIDE_SOAK_FAULTS=...  the fault string (default below)
. "$TIDE_SRCDIR/test/lib.sh"
[ -x "$MPIRUN" ] || skip "mpirun is not built"
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces and raw sockets"
tide_build test/mpi/soak.c "$T/soak" -O2
seed=${TIDE_SOAK_SEED:-$((RANDOM * 32768 + RANDOM))}
faults=${TIDE_SOAK_FAULTS:-drop=0.005,dup=0.002,reorder=0.01,corrupt=0.001,jitter=200us}
np=4
args=(-t "${TIDE_SOAK_SECONDS:-40}")
timeout=$((${TIDE_SOAK_SECONDS:-40} + 120))
if [ "${TIDE_SOAK_LONG:-0}" = 1 ]; then
    np=8
    args=(-t "${TIDE_SOAK_SECONDS:-7200}" -b "${TIDE_SOAK_BYTES:-10000000000}")
    timeout=$((${TIDE_SOAK_SECONDS:-7200} + 600))
fi
eth=(-x TIDE_WIRE=eth -x TIDE_WIRE_FAULTS="$faults,seed=$seed" -x TIDE_P2P_REPORT=1)
if "$MPIRUN" --help 2>&1 | grep -q -- --launch-agent; then
    . "$TIDE_SRCDIR/test/net/netlib.sh"
    net_setup 2 9000 || skip "cannot make test hosts (network namespaces)"
    per=$((np / 2))
    where=(--launch-agent "ip netns exec" --host "$(net_ns 1):$per,$(net_ns 2):$per"
        -x TIDE_ETH_IF=eth0)
    note "soak: $np ranks on 2 hosts, seed $seed, faults $faults, ${args[*]}"
else
    ns="tide-soak-$$-$RANDOM"
    ip netns add "$ns" || skip "cannot create a network namespace"
    tide_on_exit "ip netns del $ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add ta type veth peer name tb
    ip -n "$ns" link set ta mtu 9000 up
    ip -n "$ns" link set tb mtu 9000 up
    ifs=ta
    for i in $(seq 2 $np); do [ $((i % 2)) = 0 ] && ifs=$ifs,tb || ifs=$ifs,ta; done
    where=(--oversubscribe -x TIDE_ETH_IF=$ifs)
    note "soak: $np ranks in one namespace, seed $seed, faults $faults, ${args[*]}"
fi
launch() {
    if [ -n "${ns:-}" ]; then ip netns exec "$ns" "$@"; else "$@"; fi
}
launch "$MPIRUN" --timeout "$timeout" -np $np "${where[@]}" "${eth[@]}" \
    "$T/soak" -s "$seed" "${args[@]}" >"$T/out" 2>"$T/err"
rc=$?
grep "^soak:" "$T/out" | grep -v "^soak: round "
sum() { grep -o "$1=[0-9]*" "$T/err" | awk -F= '{s += $2} END {print s + 0}'; }
injected=0
for f in drop dup reorder corrupt; do
    n=$(sum fault_$f)
    note "faults injected: $f $n"
    injected=$((injected + n))
done
[ "$rc" = 0 ] || fail "soak failed (exit $rc): $(grep -v '^tide-p2p-report' "$T/err" | tail -20)"
grep -q "^soak: errors 0$" "$T/out" || fail "soak reported errors"
[ "$injected" -gt 0 ] || fail "no fault was injected (TIDE_WIRE_FAULTS not applied?)"
retx=$(awk '/^soak: tide_stream_retrans_segs/ {print $3}' "$T/out")
[ "${retx:-0}" -gt 0 ] || fail "faults injected but nothing retransmitted"
assert_no_leftovers

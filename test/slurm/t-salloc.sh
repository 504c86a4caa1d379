#!/usr/bin/env bash
# Tide's mpirun inside a Slurm allocation on two emulated nodes (test/slurm/
# slurmlib.sh): `salloc -N 2 mpirun -np 4 prog` on the login node; mpirun
# takes its hosts and slots from SLURM_JOB_NODELIST/SLURM_TASKS_PER_NODE and
# starts one daemon per node with srun, which is the PMIx server of the ranks
# on its node.  Ranks on different nodes talk over the eth wire across the
# bridge.  The same from an sbatch script.  A rank killed on the second node
# ends the job with mpirun's message and no process left on either node.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/slurm/slurmlib.sh"
. "$TIDE_SRCDIR/test/slurm/srun_common.sh"
slurm_check || skip "$SLURM_WHY"
# It once failed on idle machines (a rank declared gone): srun starts each
# node's daemon in its own session, and a starting rank was starved by a
# rank of the other node spinning in an MPI wait on the same core; MPI
# waits now sleep on the wire after a short spin (test/cluster/t-sessions.sh).
[ -x "$MPIRUN" ] || skip "Tide is not installed in $TIDE_PREFIX"
tide_build test/slurm/srun_check.c "$T/srun_check"
tide_build test/mpi/p2p.c "$T/p2p" -pthread
slurm_start 2
# mpirun's and the daemons' private directories go to the test's TmpFS
# (each node's own, bind-mounted there), counters stay out of /dev/shm
export TIDE_WIRE=eth TIDE_ETH_IF=eth0 SRUN_CHECK_LAUNCHER=mpirun TMPDIR=$SLURM_DIR/tmp
export TIDE_STREAM_STAT_SHM=0
rx_tn2() { net_run 2 cat /sys/class/net/eth0/statistics/rx_bytes; }

salloc_mpirun() {
    note "salloc -N 2 --ntasks-per-node=2 mpirun $*"
    slurm_run timeout 80 salloc -N 2 --ntasks-per-node=2 "$MPIRUN" --timeout 60 "$@" >"$T/out" 2>&1
}

rx0=$(rx_tn2)
salloc_mpirun --display-map -np 4 "$T/srun_check" || {
    cat "$T/out"
    slurm_fail "mpirun inside salloc failed"
}
cat "$T/out"
grep -q "tn1 (slots 2): ranks 0,1" "$T/out" || slurm_fail "mpirun did not map ranks 0,1 to tn1"
grep -q "tn2 (slots 2): ranks 2,3" "$T/out" || slurm_fail "mpirun did not map ranks 2,3 to tn2"
for r in 0 1 2 3; do
    h=tn$((r / 2 + 1))
    grep -qx "hello from rank $r of 4 on $h" "$T/out" || slurm_fail "no hello from rank $r on $h"
done
rx=$(($(rx_tn2) - rx0))
note "tn2 received $rx bytes"
[ "$rx" -gt 524288 ] || slurm_fail "only $rx bytes reached tn2: was the eth wire used?"
slurm_no_tasks

salloc_mpirun --map-by node -np 4 "$T/p2p" || {
    cat "$T/out"
    slurm_fail "p2p with mpirun inside salloc failed"
}
cat "$T/out"
grep -q "p2p pingpong *ok" "$T/out" || slurm_fail "p2p did not run its tests"
! grep "^p2p" "$T/out" | grep -vq "ok$" || slurm_fail "a p2p test failed"
slurm_no_tasks

note "sbatch -N 2 --ntasks-per-node=2 --wait --wrap 'mpirun srun_check'"
slurm_run timeout 80 sbatch -N 2 --ntasks-per-node=2 --wait -o "$T/batch.out" \
    --wrap "$MPIRUN --timeout 60 $T/srun_check" >"$T/out" 2>&1 || {
    cat "$T/out" "$T/batch.out"
    slurm_fail "mpirun in a batch job failed"
}
cat "$T/batch.out"
[ "$(grep -c '^hello from rank [0-3] of 4 on tn[12]$' "$T/batch.out")" = 4 ] ||
    slurm_fail "the batch job's mpirun did not say hello from 4 ranks"
slurm_no_tasks

rc=0
salloc_mpirun -np 4 "$T/srun_check" die 2 || rc=$?
cat "$T/out"
note "ended with $rc"
[ "$rc" != 0 ] || slurm_fail "the job with a killed rank exited 0"
[ "$rc" != 124 ] || slurm_fail "the job with a killed rank hung"
grep -q "rank 2 .*on tn2.* killed" "$T/out" || slurm_fail "mpirun does not name rank 2 on tn2"
grep -q "received from the dead rank" "$T/out" && slurm_fail "a message from a dead rank"
slurm_no_tasks

left=$(ls -d "$SLURM_DIR"/tmp*/tide-mpirun.* 2>/dev/null || true)
[ -z "$left" ] || slurm_fail "mpirun directories left: $left"
slurm_stop || slurm_fail "$SLURM_WHY"
exit 0

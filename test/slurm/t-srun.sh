#!/usr/bin/env bash
# Tide under a real Slurm, one node: munged, slurmctld and slurmd started by
# the test (test/slurm/slurmlib.sh), then `srun --mpi=pmix -n 4` runs Tide
# programs whose ranks are PMIx clients of slurmstepd (no mpirun): a check
# that MPI and Slurm agree on ranks, a ring and a sum, then the point-to-
# point suite (udp wire on the node's loopback).  Killing one rank must end
# the step with a clear message and leave no process: once by Tide itself
# (the peers notice within TIDE_P2P_PEER_TIMEOUT and abort through PMIx)
# and once by srun --kill-on-bad-exit.  MPI_Abort ends the step with its
# code and a message naming the rank.  srun without --mpi=pmix gives
# singletons, with a warning that says so.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/slurm/slurmlib.sh"
. "$TIDE_SRCDIR/test/slurm/srun_common.sh"
slurm_check || skip "$SLURM_WHY"
[ -x "$MPICC" ] || skip "Tide is not installed in $TIDE_PREFIX"
tide_build test/slurm/srun_check.c "$T/srun_check"
tide_build test/mpi/p2p.c "$T/p2p" -pthread
slurm_start 1

srun_ok "$T/srun_check" 4 "tn1 tn1 tn1 tn1" -n 4
srun_p2p -n 4
srun_kill 2 "" -n 4
srun_kill 1 "-K" -n 4

# without --mpi=pmix every task is a singleton: rank 0 of 1, and Tide warns
slurm_run srun -n 2 "$T/srun_check" >"$T/out" 2>&1 && fail "srun without --mpi=pmix: the SLURM_PROCID check should fail for task 1"
cat "$T/out"
grep -q -- "--mpi=pmix" "$T/out" || fail "no warning about a missing --mpi=pmix"

srun_abort 3 -n 4
slurm_stop || slurm_fail "$SLURM_WHY"
exit 0

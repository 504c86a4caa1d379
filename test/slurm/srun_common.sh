# Shared steps of the srun tests (sourced after slurmlib.sh); each fails the
# test with the daemons' logs when something is wrong.

slurm_fail() {
    slurm_logs 20 >&2
    fail "$*"
}

# slurm_start N: the cluster, or skip (no namespaces here) or fail.
slurm_start() {
    local rc=0
    slurm_setup "$1" || rc=$?
    [ $rc = 2 ] && skip "$SLURM_WHY"
    [ $rc = 0 ] || slurm_fail "Slurm did not start: $SLURM_WHY"
}

# srun_ok PROG N "HOSTS" SRUN-ARGS...: srun_check on N ranks says hello from
# every rank, on the hosts listed (rank order), and exits 0.
srun_ok() {
    local prog=$1 n=$2 hosts=$3 r h
    shift 3
    note "srun --mpi=pmix $* $(basename "$prog")"
    slurm_run timeout 60 srun --mpi=pmix "$@" "$prog" >"$T/out" 2>&1 || {
        cat "$T/out"
        slurm_fail "srun --mpi=pmix $* failed"
    }
    cat "$T/out"
    r=0
    for h in $hosts; do
        grep -qx "hello from rank $r of $n on $h" "$T/out" || slurm_fail "no hello from rank $r on $h"
        r=$((r + 1))
    done
    [ "$(grep -c '^hello' "$T/out")" = "$n" ] || slurm_fail "expected $n hellos"
    slurm_no_tasks
}

# srun_p2p SRUN-ARGS...: the point-to-point suite of test/mpi/p2p.c.
srun_p2p() {
    note "srun --mpi=pmix $* p2p"
    slurm_run timeout 80 srun --mpi=pmix "$@" "$T/p2p" >"$T/out" 2>&1 || {
        cat "$T/out"
        slurm_fail "p2p under srun --mpi=pmix $* failed"
    }
    cat "$T/out"
    grep -q "p2p pingpong *ok" "$T/out" || slurm_fail "p2p did not run its tests"
    ! grep "^p2p" "$T/out" | grep -vq "ok$" || slurm_fail "a p2p test failed"
    slurm_no_tasks
}

# srun_kill R SRUN-OPTS SRUN-ARGS...: rank R kills itself while the others
# wait for a message from it.  The step must fail, srun must name the
# killed task, the others must end (Tide's message, or srun's when it kills
# them), and nothing may be left.
srun_kill() {
    local r=$1 opts=$2 rc=0 t0 t1
    shift 2
    note "srun --mpi=pmix $opts $* srun_check die $r"
    t0=$(date +%s)
    # (no counters in /dev/shm: a killed rank cannot remove its file)
    slurm_run env TIDE_P2P_PEER_TIMEOUT=3s TIDE_STREAM_STAT_SHM=0 timeout 60 srun --mpi=pmix $opts "$@" \
        "$T/srun_check" die "$r" >"$T/out" 2>&1 || rc=$?
    t1=$(date +%s)
    cat "$T/out"
    note "ended with $rc after $((t1 - t0)) s"
    [ "$rc" != 0 ] || slurm_fail "the step with a killed rank exited 0"
    [ "$rc" != 124 ] || slurm_fail "the step with a killed rank hung"
    grep -q "task $r: Killed" "$T/out" || slurm_fail "srun does not name the killed task $r"
    grep -q "received from the dead rank" "$T/out" && slurm_fail "a message from a dead rank"
    # Who ends the others: Slurm's PMIx plugin cancels the step when a
    # client's connection drops on its node, srun -K when a task fails, or
    # Tide (the peers see the rank gone within TIDE_P2P_PEER_TIMEOUT and
    # MPI_ERRORS_ARE_FATAL aborts the job through PMIx).
    grep -q -e "process $r is gone" -e "CANCELLED" -e "Terminating StepId" "$T/out" ||
        slurm_fail "nothing says why the other ranks ended"
    slurm_no_tasks
}

# srun_abort R SRUN-ARGS...: rank R calls MPI_Abort(MPI_COMM_WORLD, 7): the
# step ends with exit code 7, Tide names the rank, nothing is left.
srun_abort() {
    local r=$1 rc=0
    shift
    note "srun --mpi=pmix $* srun_check abort $r"
    slurm_run env TIDE_STREAM_STAT_SHM=0 timeout 60 srun --mpi=pmix "$@" \
        "$T/srun_check" abort "$r" >"$T/out" 2>&1 || rc=$?
    cat "$T/out"
    [ "$rc" = 7 ] || slurm_fail "MPI_Abort(.., 7) under srun: exit $rc, expected 7"
    grep -q "error: MPI_Abort(comm [0-9]*, errorcode 7) called by rank $r: ending the Slurm job step" \
        "$T/out" || slurm_fail "no message naming rank $r's MPI_Abort"
    slurm_no_tasks
}

# No task of the test's programs, and after a moment no slurmstepd, left.
slurm_no_tasks() {
    local left
    slurm_wait_steps 15 || slurm_fail "after the step: $SLURM_WHY"
    left=$(pgrep -af -- "$T/" | grep -v -e pgrep -e slurm || true)
    [ -z "$left" ] || slurm_fail "processes left behind: $left"
}

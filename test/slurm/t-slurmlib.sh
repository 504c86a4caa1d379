#!/usr/bin/env bash
# slurmlib.sh leaves nothing behind: a two-node cluster with a job running
# (srun sleep on both nodes) is torn down when its shell ends normally (after
# the job is cancelled and slurm_stop), when it fails, and when it is killed
# by SIGTERM.  Afterwards no daemon, slurmstepd or task of it is alive, and
# its namespaces, bridge and files are gone.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/slurm/slurmlib.sh"
slurm_check || skip "$SLURM_WHY"
chmod 755 "$T" # munged wants its socket directory reachable by all

child() {
    TMPDIR=$T bash -c '
        . "$TIDE_SRCDIR/test/lib.sh"
        . "$TIDE_SRCDIR/test/slurm/slurmlib.sh"
        slurm_setup 2 || { slurm_logs; exit 3; }
        echo "$NET_ID $T" >"$1"
        slurm_run srun -N 2 -n 2 sleep 300 >/dev/null 2>&1 &
        # wait until the tasks run on both nodes, then record every pid
        for i in $(seq 50); do
            [ "$(slurm_steps | grep -c "bin/sleep 300")" = 2 ] && break
            sleep 0.2
        done
        [ "$(slurm_steps | grep -c "bin/sleep 300")" = 2 ] || exit 4
        slurm_procs >"$1.pids"
        case "$2" in
        ok)
            slurm_run scancel --full $(slurm_run squeue -h -o %i) || exit 5
            slurm_stop || { echo "$SLURM_WHY" >&2; exit 6; }
            exit 0 ;;
        fail) false; exit 1 ;;
        signal) kill -TERM $$; sleep 5 ;;
        esac
    ' child "$T/id" "$1"
}

leftovers() {
    local id dir p
    read -r id dir <"$T/id"
    ip netns list | grep -q "tide-$id-" && echo "namespaces of $id"
    ip link show "tb$id" >/dev/null 2>&1 && echo "bridge tb$id"
    [ -e "$dir" ] && echo "directory $dir"
    # alive: not gone and not a zombie (dead, only waiting for its parent)
    for p in $(cat "$T/id.pids"); do
        [ -r "/proc/$p/stat" ] || continue
        [ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" = Z ] && continue
        [ -d "/proc/$p" ] && echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    done
    return 0
}

for how in ok fail signal; do
    rc=0
    child $how || rc=$?
    case $how in
    ok) [ $rc = 0 ] || fail "cluster set-up, job or orderly stop failed (exit $rc)" ;;
    fail) [ $rc = 1 ] || fail "expected the failing child to exit 1, got $rc" ;;
    signal) [ $rc -ne 0 ] || fail "the killed child exited 0" ;;
    esac
    [ -s "$T/id.pids" ] || fail "the child recorded no processes"
    note "$how: $(wc -w <"$T/id.pids") processes recorded"
    left=$(leftovers)
    [ -z "$left" ] || sleep 1 # a process that was exiting just now
    left=$(leftovers)
    [ -z "$left" ] || fail "slurmlib left things behind after '$how': $left"
    rm -f "$T/id" "$T/id.pids"
done
exit 0

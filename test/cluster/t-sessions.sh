#!/usr/bin/env bash
# Ranks of two sessions sharing cores (issue 7's failure under Slurm): two
# namespace hosts, 2 ranks each, every host daemon started in its own
# session ("setsid ip netns exec", as srun starts its steps), so each host's
# ranks are in their own scheduler autogroup while ranks of both hosts are
# bound to the same two cores.  When Tide's wait loops spun for ever
# (sched_yield now and then), a rank still starting was starved by a rank
# of the other session spinning on its core (24 ms of CPU in 9 s, measured
# in /proc/PID/task/*/sched) and declared gone after 10 s of silence; on an
# idle machine every run failed, at load 5-20 about 1 in 6.  Every wait now
# sleeps on the wire after TIDE_IDLE_SPIN (src/p2p/p2p.c tide_p2p_idle);
# since then a run takes about 0.6 s.  TIDE_SESSIONS_RUNS runs (default 4).
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/cluster/cluster-lib.sh"
cluster_ns_setup 2 9000
tide_build test/slurm/srun_check.c "$T/srun_check"
cat >"$T/agent" <<AG
#!/bin/sh
exec setsid ip netns exec "\$@"
AG
chmod +x "$T/agent"
export SRUN_CHECK_LAUNCHER=mpirun
LAUNCH_LIMIT=60
LAUNCH_EXPECT_124=1
runs=${TIDE_SESSIONS_RUNS:-4} fails=0
for i in $(seq 1 "$runs"); do
    launch_run --launch-agent "$T/agent" -x TIDE_WIRE=eth -x TIDE_ETH_IF=eth0 \
        -x SRUN_CHECK_LAUNCHER --timeout 40 \
        --host "$(cluster_hosts "1:2 2:2")" -np 4 "$T/srun_check"
    hellos=$(grep -c '^hello from rank [0-3] of 4' "$T/out")
    note "run $i: exit $RC, $hellos of 4 ranks said hello"
    if [ "$RC" != 0 ] || [ "$hellos" != 4 ]; then
        fails=$((fails + 1))
        grep -v '^hello' "$T/err" | head -8 >&2
    fi
done
cluster_no_procs
[ "$fails" = 0 ] || fail "$fails of $runs runs failed"

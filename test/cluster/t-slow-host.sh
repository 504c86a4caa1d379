#!/usr/bin/env bash
# A host whose daemon starts late must not make the ranks of the other
# hosts fail each other.  Two namespace hosts, two ranks each; the launch
# agent holds host 2 back for longer than TIDE_P2P_PEER_TIMEOUT and the
# connect timeout (both shortened here).  Before MPI_Init exchanged every
# address (a collecting PMIx fence), the first message to a rank of host 2
# waited for its address inside the runtime with the point-to-point lock
# held: that rank stopped answering its neighbour on host 1, which declared
# it gone ("process 1 is gone (Connection timed out)") -- what mpirun inside
# a Slurm allocation hit, where daemons start one srun after another.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/cluster/cluster-lib.sh"
cluster_ns_setup 2 9000
tide_build test/slurm/srun_check.c "$T/srun_check"
late=$(net_ns 2)
cat >"$T/agent" <<AGENT
#!/bin/sh
[ "\$1" = "$late" ] && sleep 6
exec ip netns exec "\$@"
AGENT
chmod +x "$T/agent"
export SRUN_CHECK_LAUNCHER=mpirun
LAUNCH_LIMIT=60
launch_run --launch-agent "$T/agent" -x TIDE_WIRE=eth -x TIDE_ETH_IF=eth0 \
    -x TIDE_P2P_PEER_TIMEOUT=3s -x TIDE_STREAM_SYN_RETRIES=4 -x SRUN_CHECK_LAUNCHER --timeout 50 \
    --host "$(cluster_hosts "1:2 2:2")" -np 4 "$T/srun_check"
cat "$T/out" "$T/err"
launch_expect_rc 0
[ "$(grep -c '^hello from rank [0-3] of 4' "$T/out")" = 4 ] || fail "not every rank said hello"
! grep -q "is gone" "$T/err" || fail "a rank was declared gone while host 2 was starting"
cluster_no_procs
assert_no_leftovers
launch_no_tmpdirs

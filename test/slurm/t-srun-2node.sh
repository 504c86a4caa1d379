#!/usr/bin/env bash
# Tide under a real Slurm, two emulated nodes: two slurmd processes, each in
# its own network and UTS namespace (hostnames tn1, tn2) on a bridge, with
# their own ports, spool and TmpFS (test/slurm/slurmlib.sh).  srun --mpi=pmix
# puts two ranks on each node; ranks on different nodes talk over Tide's eth
# wire across the bridge (TIDE_WIRE=eth, TIDE_ETH_IF=eth0, the node's veth;
# once also the udp wire on the nodes' addresses),
# and the ranks fetch each other's addresses from the other node's
# slurmstepd (PMIx direct modex).  A rank killed on the second node ends the
# step with a clear message and no survivors on either node.
# TIDE_SLURM_FULL=1 runs at MTU 9000 and adds the kill without srun -K
# (Tide's own detection of the dead peer, TIDE_P2P_PEER_TIMEOUT=3s).
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/slurm/slurmlib.sh"
. "$TIDE_SRCDIR/test/slurm/srun_common.sh"
slurm_check || skip "$SLURM_WHY"
[ -x "$MPICC" ] || skip "Tide is not installed in $TIDE_PREFIX"
tide_build test/slurm/srun_check.c "$T/srun_check"
tide_build test/mpi/p2p.c "$T/p2p" -pthread
full=${TIDE_SLURM_FULL:-0}
mtu=1500
[ "$full" = 1 ] && mtu=9000
SLURM_MTU=$mtu slurm_start 2
# srun passes the environment of the login node on to the tasks
export TIDE_WIRE=eth TIDE_ETH_IF=eth0

rx_tn2() { net_run 2 cat /sys/class/net/eth0/statistics/rx_bytes; }
# The ring sends 256 KiB from rank 1 (tn1) to 2 (tn2) and from 0 to 3; the
# udp wire would stay on each node's loopback, so this proves eth was used.
rx0=$(rx_tn2)
srun_ok "$T/srun_check" 4 "tn1 tn1 tn2 tn2" -N 2 --ntasks-per-node=2
rx=$(($(rx_tn2) - rx0))
note "tn2 received $rx bytes"
[ "$rx" -gt 524288 ] || slurm_fail "only $rx bytes reached tn2: was the eth wire used?"
# the udp wire across the nodes too, bound to each node's eth0 address
TIDE_WIRE=udp TIDE_UDP_ADDR=eth0 srun_ok "$T/srun_check" 4 "tn1 tn2 tn1 tn2" -N 2 \
    --ntasks-per-node=2 -m cyclic
# cyclic: ranks 0 and 1, the pair most p2p tests use, on different nodes
rx0=$(rx_tn2)
srun_p2p -N 2 --ntasks-per-node=2 -m cyclic
note "tn2 received $(($(rx_tn2) - rx0)) bytes"
[ "$full" = 1 ] && srun_kill 3 "" -N 2 --ntasks-per-node=2
srun_kill 2 "-K" -N 2 --ntasks-per-node=2
srun_abort 2 -N 2 --ntasks-per-node=2
slurm_stop || slurm_fail "$SLURM_WHY"
exit 0

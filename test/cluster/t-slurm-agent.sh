#!/usr/bin/env bash
# mpirun inside a Slurm allocation (SLURM_JOB_ID and SLURM_JOB_NODELIST
# set, no --host/--hostfile): hosts and slots come from the allocation
# ("n[1-2]", "2(x2)") and each daemon is started with
# "srun --nodes=1 --ntasks=1 --overlap --kill-on-bad-exit=1 ... --nodelist=HOST".
# A stand-in srun (first in PATH) logs its arguments and runs the command
# here, its output passed on a line at a time (sed -u) as slurmstepd does
# without --unbuffered: the protocol's frames must not stall in it.  An explicit --launch-agent wins over srun; --host wins over the
# allocation.  (The real Slurm tests are in test/slurm/.)
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/cluster/cluster-lib.sh"
pkg-config --exists pmix || skip "no pmix pkg-config file"
launch_build_pmix test/launch/pmix_client.c "$T/pc"
cluster_fake_agent
mkdir -p "$T/bin"
cat >"$T/bin/srun" <<SRUN
#!/bin/sh
echo "\$*" >>"$T/srun.log"
while [ \$# -gt 0 ]; do case "\$1" in --*) shift ;; *) break ;; esac; done
"\$@" | sed -u ''

SRUN
chmod +x "$T/bin/srun"
export PATH="$T/bin:$PATH" SLURM_JOB_ID=4242 SLURM_JOB_NODELIST="n[1-2]" SLURM_TASKS_PER_NODE="2(x2)"

launch_run --display-map "$T/pc" hello
launch_expect_rc 0
[ "$(grep -c '^rank [0-3] of 4 ok' "$T/out")" = 4 ] || fail "hello: $(cat "$T/out" "$T/err")"
launch_err_has "n1 (slots 2): ranks 0,1"
launch_err_has "n2 (slots 2): ranks 2,3"
[ "$(wc -l <"$T/srun.log")" = 2 ] || fail "srun calls: $(cat "$T/srun.log")"
for n in n1 n2; do
    grep -q -- "^--nodes=1 --ntasks=1 --overlap --kill-on-bad-exit=1 .*--nodelist=$n .*mpirun --tide-daemon$" "$T/srun.log" ||
        fail "no srun line for $n: $(cat "$T/srun.log")"
done
assert_no_leftovers

# more ranks than the allocation's slots is refused
launch_run -np 5 "$T/pc" hello
launch_expect_rc 1
launch_err_has "not enough slots: 5 ranks requested but the hosts have only 4 (n1: 2, n2: 2), 1 short"

# an explicit launch agent wins over srun
: >"$T/srun.log"
launch_run "${FAKE[@]}" -np 2 --map-by node "$T/pc" hello
launch_expect_rc 0
[ ! -s "$T/srun.log" ] || fail "srun used despite --launch-agent"
[ "$(sort "$T/agent.log" | tr '\n' ' ')" = "n1 n2 " ] || fail "agent saw: $(cat "$T/agent.log")"

# odd allocations: several node groups, uneven tasks
export SLURM_JOB_NODELIST="c[01-02],d7" SLURM_TASKS_PER_NODE="1(x2),2"
launch_run --display-map "$T/pc" hello
launch_expect_rc 0
launch_err_has "4 ranks on 3 hosts"
launch_err_has "d7 (slots 2): ranks 2,3"
assert_no_leftovers
launch_no_tmpdirs

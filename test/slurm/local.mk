# test/slurm: Tide under a real Slurm started by the tests themselves
# (munged, slurmctld, slurmd; Debian's slurmctld slurmd slurm-client
# slurm-wlm-basic-plugins munge).  TIDE_SLURM_FULL=1 selects the long forms.
TESTS += test/slurm/t-slurmlib.sh test/slurm/t-srun.sh test/slurm/t-srun-2node.sh test/slurm/t-salloc.sh
EXTRA_DIST += test/slurm/slurmlib.sh test/slurm/srun_common.sh test/slurm/srun_check.c \
	test/slurm/t-slurmlib.sh test/slurm/t-srun.sh test/slurm/t-srun-2node.sh test/slurm/t-salloc.sh

# test/cluster: multi-host mpirun (daemons per host through a launch agent;
# hosts are fake names or network namespaces) and Slurm's notations.
CLUSTER_TESTS = \
	test/cluster/t-hosts.sh \
	test/cluster/t-slurm-agent.sh \
	test/cluster/t-p2p-hosts.sh \
	test/cluster/t-slow-host.sh \
	test/cluster/t-sessions.sh \
	test/cluster/t-hosts-fail.sh \
	test/cluster/t-ssh.sh
check_PROGRAMS += test/cluster/nodelist
test_cluster_nodelist_SOURCES = test/cluster/nodelist.c mpirun/hosts.c mpirun/mpirun.h
test_cluster_nodelist_CFLAGS = $(AM_CFLAGS) $(HWLOC_CFLAGS)
test_cluster_nodelist_LDADD = libtideutil.la $(HWLOC_LIBS)
check_PROGRAMS += test/cluster/frame_test
test_cluster_frame_test_SOURCES = test/cluster/frame_test.c mpirun/frame.c mpirun/mpirun.h
test_cluster_frame_test_LDADD = libtideutil.la -lpthread
TESTS += test/cluster/nodelist test/cluster/frame_test $(CLUSTER_TESTS)
EXTRA_DIST += $(CLUSTER_TESTS) test/cluster/cluster-lib.sh

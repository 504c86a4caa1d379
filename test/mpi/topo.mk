# Process topologies and neighbourhood collectives: test/mpi/topo.c run by
# t-topo.sh (singleton, 2, 3, 4 and 6 ranks, small eager limit).
TESTS += test/mpi/t-topo.sh
EXTRA_DIST += test/mpi/t-topo.sh test/mpi/topo.c

# test/fault: what Tide survives (doc/reliability.md): link and peer faults,
# resource bounds, the soak under injected wire faults.  MPI programs built
# by the tests with the installed mpicc.
EXTRA_DIST += test/fault/peerfail.c test/fault/flood.c test/mpi/soak.c test/fault/ulfm.c
TESTS += test/fault/t-link.sh test/fault/t-peer.sh test/fault/t-soak.sh test/fault/t-resource.sh
TESTS += test/fault/t-ulfm.sh
EXTRA_DIST += test/fault/t-ulfm.sh
EXTRA_DIST += test/fault/t-link.sh test/fault/t-peer.sh test/fault/t-soak.sh test/fault/t-resource.sh

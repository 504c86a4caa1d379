# test/mpi: MPI programs compiled with the installed mpicc and run by mpirun.
EXTRA_DIST += test/mpi/hello.c test/mpi/hello_pmix.c test/mpi/errors.c test/mpi/self.c test/mpi/p2p.c test/mpi/tools.c test/mpi/prof.c
TESTS += test/mpi/t-singleton.sh test/mpi/t-errors.sh test/mpi/t-wrappers.sh test/mpi/t-self.sh test/mpi/t-p2p-udp.sh test/mpi/t-p2p-eth.sh test/mpi/t-tools.sh
EXTRA_DIST += test/mpi/t-singleton.sh test/mpi/t-errors.sh test/mpi/t-wrappers.sh test/mpi/t-self.sh test/mpi/t-p2p-udp.sh test/mpi/t-p2p-eth.sh test/mpi/t-tools.sh
include test/mpi/comm.mk
include test/mpi/dtype.mk
include test/mpi/coll.mk
include test/mpi/isendrecv.mk
include test/mpi/topo.mk
include test/mpi/idup.mk

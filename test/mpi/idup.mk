# test/mpi: nonblocking MPI_Comm_idup and MPI_Comm_get_info (src/mpi/comm.c, comm_ctx.c).
TESTS += test/mpi/t-idup.sh
EXTRA_DIST += test/mpi/t-idup.sh test/mpi/idup.c

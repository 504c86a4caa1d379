# test/mpi: MPI_Isendrecv and MPI_Isendrecv_replace (src/mpi/pt2pt.c).
TESTS += test/mpi/t-isendrecv.sh
EXTRA_DIST += test/mpi/t-isendrecv.sh test/mpi/isendrecv.c

# test/mpi collectives: test/mpi/coll.c compiled with the installed mpicc
# and run by t-coll.sh (singleton, 2, 3, 4, 5 and 6 ranks, algorithm
# thresholds at both ends).
TESTS += test/mpi/t-coll.sh
EXTRA_DIST += test/mpi/t-coll.sh test/mpi/coll.c
# Nonblocking collectives and derived datatypes in collectives:
# test/mpi/nbc.c run by t-nbc.sh (singleton, 2, 3, 4 and 6 ranks).
TESTS += test/mpi/t-nbc.sh
EXTRA_DIST += test/mpi/t-nbc.sh test/mpi/nbc.c

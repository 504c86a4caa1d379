# test/mpi collectives: test/mpi/coll.c compiled with the installed mpicc
# and run by t-coll.sh (singleton, 2, 3, 4, 5 and 6 ranks, algorithm
# thresholds at both ends).
TESTS += test/mpi/t-coll.sh
EXTRA_DIST += test/mpi/t-coll.sh test/mpi/coll.c

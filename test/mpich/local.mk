# test/mpich: MPICH 4.0.2's own test suite (its test/mpi, unmodified) built
# with Tide's mpicc and run with Tide's mpirun (doc/mpich-tests.md).  The CI
# form runs the tests of ci.list; TIDE_MPICH_FULL=1 adds whole directories.
TESTS += test/mpich/t-mpich.sh
EXTRA_DIST += test/mpich/t-mpich.sh test/mpich/run.sh test/mpich/ci.list \
	test/mpich/expected-failures

# test/mpi: derived datatypes (src/mpi/dtype*.c) and non-contiguous messages.
TESTS += test/mpi/t-dtype.sh
EXTRA_DIST += test/mpi/t-dtype.sh test/mpi/dtype.c test/mpi/dtype_ext.c \
	test/mpi/dtype_pair.c test/mpi/check.h

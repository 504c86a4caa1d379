# test/mpi: communicators, groups, attributes, error handlers, info.
TESTS += test/mpi/t-comm.sh
EXTRA_DIST += test/mpi/t-comm.sh test/mpi/comm.c test/mpi/group.c test/mpi/comm_attr.c

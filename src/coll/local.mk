# src/coll: collectives on point-to-point.
noinst_LTLIBRARIES += libtidecoll.la
libtidecoll_la_SOURCES = src/coll/coll.h src/coll/coll_impl.h src/coll/barrier.c \
	src/coll/util.c src/coll/op.c src/coll/bcast.c src/coll/gather.c \
	src/coll/allgather.c src/coll/alltoall.c src/coll/reduce.c src/coll/allreduce.c \
	src/coll/scan.c src/coll/sched.h src/coll/sched.c src/coll/nbc.c \
	src/coll/nbc_inter.c

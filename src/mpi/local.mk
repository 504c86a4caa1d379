# src/mpi: the MPI API, built into the installed libmpi.
lib_LTLIBRARIES += libmpi.la
include_HEADERS += include/mpi.h
libmpi_la_SOURCES = \
	src/mpi/mpi_impl.h \
	src/mpi/init.c \
	src/mpi/comm.c \
	src/mpi/comm_impl.h src/mpi/comm_ctx.c src/mpi/comm_create.c src/mpi/group.c \
	src/mpi/attr.c src/mpi/errhandler.c src/mpi/info.c \
	src/mpi/errors.c \
	src/mpi/ft.h src/mpi/ft.c \
	src/mpi/datatype.c \
	src/mpi/dtype.h \
	src/mpi/dtype.c \
	src/mpi/dtype_api.c \
	src/mpi/request.c \
	src/mpi/pt2pt.c \
	src/mpi/bsend.c \
	src/mpi/coll.c src/mpi/op.c src/mpi/op.h \
	src/mpi/nbc.h src/mpi/nbc_buf.c src/mpi/nbc_cop.c src/mpi/nbc_inter.c src/mpi/grequest.c \
	src/mpi/mpit.c \
	src/mpi/topo.h src/mpi/topo.c src/mpi/topo_graph.c src/mpi/topo_coll.c \
	src/mpi/topo_dims.c \
	src/mpi/f2c.c

libmpi_la_LIBADD = libtidecoll.la libtidep2p.la libtidestream.la libtidewire.la libtiderte.la libtideutil.la
libmpi_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0

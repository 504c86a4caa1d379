# mpirun: the launcher (PMIx server, hwloc binding, I/O forwarding; on
# several hosts one daemon per host, mpirun --tide-daemon).  See doc/mpirun.md.
bin_PROGRAMS += mpirun/mpirun
mpirun_mpirun_SOURCES = \
	mpirun/mpirun.h \
	mpirun/main.c \
	mpirun/server.c \
	mpirun/job.c \
	mpirun/iof.c \
	mpirun/bind.c \
	mpirun/tmpdir.c \
	mpirun/loop.c \
	mpirun/frame.c \
	mpirun/hosts.c \
	mpirun/remote.c \
	mpirun/daemon.c
mpirun_mpirun_CFLAGS = $(AM_CFLAGS) $(PMIX_CFLAGS) $(HWLOC_CFLAGS)
mpirun_mpirun_LDADD = libtideutil.la $(PMIX_LIBS) $(HWLOC_LIBS)
man1_MANS += doc/man/mpirun.1

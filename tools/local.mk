# tools/: the compiler wrappers, pkg-config file and tide_info.
bin_SCRIPTS += tools/mpicc tools/mpicxx
EXTRA_DIST += tools/wrapper-body.sh tools/mpicc.in tools/mpicxx.in tools/tide.pc.in
bin_PROGRAMS += tools/tide_info
tools_tide_info_SOURCES = tools/tide_info.c
tools_tide_info_CPPFLAGS = $(AM_CPPFLAGS) -DTIDE_BUILD_CC='"$(CC)"' -DTIDE_BINDIR='"$(bindir)"'
tools_tide_info_LDADD = libmpi.la
man1_MANS += doc/man/mpicc.1
install-data-hook: install-mpicxx-man
install-mpicxx-man:
	cd $(DESTDIR)$(man1dir) && rm -f mpicxx.1 && $(LN_S) mpicc.1 mpicxx.1

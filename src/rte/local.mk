# src/rte: the runtime (PMIx client).
noinst_LTLIBRARIES += libtiderte.la
libtiderte_la_SOURCES = src/rte/rte.c src/rte/rte.h
libtiderte_la_CFLAGS = $(AM_CFLAGS) $(PMIX_CFLAGS) $(HWLOC_CFLAGS)
libtiderte_la_LIBADD = $(PMIX_LIBS) $(HWLOC_LIBS)

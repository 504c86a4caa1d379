# src/coll: collectives on point-to-point.
noinst_LTLIBRARIES += libtidecoll.la
libtidecoll_la_SOURCES = src/coll/coll.h src/coll/barrier.c

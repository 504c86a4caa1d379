# src/p2p: MPI messaging semantics over streams (matching, protocols, requests).
noinst_LTLIBRARIES += libtidep2p.la
libtidep2p_la_SOURCES = \
	src/p2p/p2p.h src/p2p/p2p_impl.h \
	src/p2p/p2p.c \
	src/p2p/match.c \
	src/p2p/fail.c \
	src/p2p/net.c \
	src/p2p/frame.h src/p2p/frame.c \
	src/p2p/auth.h src/p2p/auth.c

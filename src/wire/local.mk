# src/wire: the wire layer (unreliable datagram carriers), built into the
# noinst library libtidewire.la that the stream engine and libmpi link.
noinst_LTLIBRARIES += libtidewire.la
libtidewire_la_SOURCES = \
	src/wire/wire.c src/wire/wire.h src/wire/wire_impl.h \
	src/wire/faults.c src/wire/faults.h \
	src/wire/sim.c src/wire/sim.h \
	src/wire/udp.c \
	src/wire/eth.c src/wire/eth.h src/wire/eth_if.c
libtidewire_la_CFLAGS = $(AM_CFLAGS) $(HWLOC_CFLAGS)
libtidewire_la_LIBADD = $(HWLOC_LIBS)
if HAVE_VERBS
libtidewire_la_SOURCES += src/wire/roce.c
libtidewire_la_CFLAGS += $(VERBS_CFLAGS)
libtidewire_la_LIBADD += $(VERBS_LIBS)
endif

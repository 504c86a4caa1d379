# src/stream: the TCP-style stream engine (libtidestream.la) and its public
# header; also the timer wheel it runs on, which lives in src/util.
libtideutil_la_SOURCES += src/util/timer.c src/util/timer.h

noinst_LTLIBRARIES += libtidestream.la
libtidestream_la_SOURCES = \
	src/stream/tcb.h src/stream/seg.h src/stream/seg.c src/stream/stats.h src/stream/stats.c \
	src/stream/stack.c src/stream/input.c src/stream/output.c src/stream/timers.c \
	src/stream/sack.c src/stream/cc_newreno.c src/stream/cc_cubic.c src/stream/api.c \
	src/stream/mac.h src/stream/mac.c
libtidestream_la_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
libtidestream_la_LIBADD = -lm $(SODIUM_LIBS)
tideinc_HEADERS += include/tide/stream.h

# Tools: tide-perf (iperf-like over the stream) and tide-stat (counters of a
# running process).
bin_PROGRAMS += tide-perf tide-stat
tide_perf_SOURCES = src/stream/tools/tide-perf.c
tide_perf_LDADD = libtidestream.la libtidewire.la libtideutil.la
tide_stat_SOURCES = src/stream/tools/tide-stat.c
tide_stat_LDADD = libtidestream.la libtidewire.la libtideutil.la

# src/stream: the TCP-style stream engine (libtidestream.la) and its public
# header; also the timer wheel it runs on, which lives in src/util.
libtideutil_la_SOURCES += src/util/timer.c src/util/timer.h

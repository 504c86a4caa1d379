# src/util: lists, hash map, CRC32C, clocks, logging, tunables.
noinst_LTLIBRARIES += libtideutil.la
libtideutil_la_SOURCES = \
	src/util/log.c src/util/log.h \
	src/util/param.c src/util/param.h \
	src/util/clock.c src/util/clock.h \
	src/util/crc32c.c src/util/crc32c.h \
	src/util/hash.c src/util/hash.h \
	src/util/list.h
libtideutil_la_LIBADD = -lm

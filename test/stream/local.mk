# test/stream: tests of this area (see test/local.mk)

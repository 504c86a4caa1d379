# test/wire: tests of this area (see test/local.mk)

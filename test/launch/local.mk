# test/launch: tests of this area (see test/local.mk)

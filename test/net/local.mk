# test/net: tests of this area (see test/local.mk)

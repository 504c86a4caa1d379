# test/unit: tests of this area (see test/local.mk)

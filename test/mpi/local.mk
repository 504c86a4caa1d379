# test/mpi: tests of this area (see test/local.mk)

# test/roce: soft-RoCE tests in a QEMU guest (see doc/roce.md)

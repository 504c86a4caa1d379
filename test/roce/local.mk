# test/roce: soft-RoCE tests in QEMU guests (see doc/roce.md).  t-roce.sh
# boots Debian's kernel with rdma_rxe (test/roce/guest.sh) and runs the wire
# conformance tool and roce_check there, in one guest and across two.
check_PROGRAMS += test/roce/roce_check
test_roce_roce_check_SOURCES = test/roce/roce_check.c
test_roce_roce_check_LDADD = libtidewire.la libtideutil.la
TESTS += test/roce/t-roce.sh
EXTRA_DIST += test/roce/t-roce.sh test/roce/guest.sh

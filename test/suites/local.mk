# test/suites: well-known benchmark suites from Debian's mirror, unmodified,
# built with Tide's mpicc and run with their validation on: NetPIPE 3.7.2's
# NPmpi with its integrity check, HPC Challenge 1.5.0 with its own checks
# (doc/benchmarks.md); the tarballs come from scripts/fetch-deps.sh.
# TIDE_SUITES_FULL=1: the long forms.
TESTS += test/suites/t-netpipe.sh test/suites/t-hpcc.sh
EXTRA_DIST += test/suites/t-netpipe.sh test/suites/corrupt_shim.c test/suites/t-hpcc.sh

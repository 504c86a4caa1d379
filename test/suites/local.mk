# test/suites: well-known benchmark suites from Debian's mirror, unmodified,
# built with Tide's mpicc and run with their validation on.  Today NetPIPE
# 3.7.2's NPmpi with its integrity check (doc/benchmarks.md); the tarball
# comes from scripts/fetch-deps.sh.  TIDE_SUITES_FULL=1: the long form.
TESTS += test/suites/t-netpipe.sh
EXTRA_DIST += test/suites/t-netpipe.sh test/suites/corrupt_shim.c

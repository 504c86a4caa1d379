# test/net: the test-host helper (network namespaces on a bridge) and its test.
TESTS += test/net/t-netlib.sh
EXTRA_DIST += test/net/netlib.sh test/net/t-netlib.sh

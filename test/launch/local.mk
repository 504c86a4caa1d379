# test/launch: mpirun tests (see test/local.mk).  MPI programs are compiled
# with the installed mpicc, pmix_client.c with pkg-config pmix.
LAUNCH_TESTS = \
	test/launch/t-options.sh \
	test/launch/t-pmix-server.sh \
	test/launch/t-hello.sh \
	test/launch/t-exit-code.sh \
	test/launch/t-segv.sh \
	test/launch/t-abort.sh \
	test/launch/t-stdin.sh \
	test/launch/t-binding.sh \
	test/launch/t-oversubscribe.sh \
	test/launch/t-timeout.sh \
	test/launch/t-signals.sh \
	test/launch/t-env.sh \
	test/launch/t-tag-output.sh \
	test/launch/t-lines.sh \
	test/launch/t-descendants.sh \
	test/launch/t-recovery.sh
TESTS += $(LAUNCH_TESTS)
EXTRA_DIST += $(LAUNCH_TESTS) test/launch/launch-lib.sh \
	test/launch/pmix_client.c test/launch/hello.c test/launch/failer.c \
	test/launch/stdin.c test/launch/affinity.c test/launch/env.c test/launch/lines.c

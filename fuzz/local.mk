# fuzz/: libFuzzer targets (clang) for the stream engine's segment input
# path and the point-to-point frame parser, with their seed corpora.
# `make fuzz` builds them into fuzz/bin of the build tree (fuzz/build.sh);
# `make fuzz-run` runs each for TIDE_FUZZ_SECONDS (default 300) on a copy of
# its corpus.  test/hardening/t-fuzz.sh is the bounded CI form.
EXTRA_DIST += fuzz/build.sh fuzz/run.sh fuzz/seeds.py fuzz/stream_input.c fuzz/p2p_frame.c \
	fuzz/corpus
FUZZ_BIN = $(abs_top_builddir)/fuzz/bin

.PHONY: fuzz fuzz-run
fuzz: config.h
	$(SHELL) $(abs_top_srcdir)/fuzz/build.sh $(abs_top_srcdir) $(abs_top_builddir) $(FUZZ_BIN)

fuzz-run: fuzz
	TIDE_FUZZ_SECONDS=$${TIDE_FUZZ_SECONDS:-300} $(SHELL) $(abs_top_srcdir)/fuzz/run.sh \
		$(abs_top_srcdir) $(FUZZ_BIN)

if ENABLE_FUZZ
all-local: fuzz
endif

clean-local:
	rm -rf fuzz/bin

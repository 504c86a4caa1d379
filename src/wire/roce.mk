# src/wire/roce.mk: the RoCE wire's build rules (built when libibverbs is present).
# src/wire/roce.c is added to libtidewire_la_SOURCES under `if HAVE_VERBS`
# in src/wire/local.mk, with $(VERBS_CFLAGS)/$(VERBS_LIBS), and
# TIDE_WIRE_HAVE_ROCE follows TIDE_HAVE_VERBS (config.h) in wire_impl.h; this
# file adds nothing more so the source is not listed twice.

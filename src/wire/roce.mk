# src/wire/roce.mk: the RoCE wire's build rules (built when libibverbs is present)

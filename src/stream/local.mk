# src/stream: build rules (see the top-level Makefile.am)

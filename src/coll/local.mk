# src/coll: build rules (see the top-level Makefile.am)

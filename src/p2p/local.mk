# src/p2p: build rules (see the top-level Makefile.am)

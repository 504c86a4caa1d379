# tools/: the compiler wrappers, pkg-config file and tide_info.
bin_SCRIPTS += tools/mpicc tools/mpicxx
EXTRA_DIST += tools/wrapper-body.sh tools/mpicc.in tools/mpicxx.in tools/tide.pc.in

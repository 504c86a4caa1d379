# --- common part of mpicc/mpicxx (tools/wrapper-body.sh) ---
compiler=$TIDE_WRAPPER_DEFAULT_COMPILER
if [ -n "$TIDE_WRAPPER_ENV_COMPILER" ]; then
    compiler=$TIDE_WRAPPER_ENV_COMPILER
elif [ -n "$TIDE_WRAPPER_GENERIC_COMPILER" ]; then
    case "$(basename "${TIDE_WRAPPER_GENERIC_COMPILER%% *}")" in
    mpi*) ;; # CC=mpicc in a build must not make the wrapper call itself
    *) compiler=$TIDE_WRAPPER_GENERIC_COMPILER ;;
    esac
fi
cppflags="-I$includedir ${TIDE_CPPFLAGS:-}"
ldflags="-L$libdir -Wl,-rpath,$libdir ${TIDE_LDFLAGS:-}"
# A sanitized Tide (--enable-sanitizers): the same flags to compile and link.
san="${TIDE_WRAPPER_SAN_FLAGS:-}"
libs="-lmpi -pthread ${TIDE_LIBS:-}"

usage() {
    cat <<USAGE
usage: $(basename "$0") [-show|-showme|-compile-info|-link-info|-showme:compile|-showme:link] [compiler arguments...]
Compiles and links $lang programs against Tide MPI with: $compiler
USAGE
}

if [ $# -eq 0 ]; then
    usage >&2
    exit 1
fi

show=""
link=1
quote_args=""
for a in "$@"; do
    case "$a" in
    -show | -showme) show=all ;;
    -compile-info | -compile_info) show=compile ;;
    -link-info | -link_info) show=link ;;
    -showme:compile) show=compile-flags ;;
    -showme:link) show=link-flags ;;
    -showme:version | -v | --version) [ $# -eq 1 ] && { echo "Tide MPI $version wrapper around $compiler"; exec $compiler --version; } ;;
    -help | --help | -h) usage; exit 0 ;;
    -c | -E | -S | -M | -MM) link=0 ;;
    esac
done

# Rebuild the argument list without our own options.
for a in "$@"; do
    shift
    case "$a" in
    -show | -showme | -compile-info | -compile_info | -link-info | -link_info | -showme:compile | -showme:link) ;;
    *) set -- "$@" "$a" ;;
    esac
done

case "$show" in
compile-flags) echo $cppflags $san $TIDE_WRAPPER_LANG_FLAGS; exit 0 ;;
link-flags) echo $san $ldflags $libs; exit 0 ;;
compile) echo $compiler $cppflags $san $TIDE_WRAPPER_LANG_FLAGS "$@"; exit 0 ;;
link) echo $compiler $cppflags $san $TIDE_WRAPPER_LANG_FLAGS "$@" $ldflags $libs; exit 0 ;;
esac

if [ "$link" = 1 ]; then
    set -- $cppflags $san $TIDE_WRAPPER_LANG_FLAGS "$@" $ldflags $libs
else
    set -- $cppflags $san $TIDE_WRAPPER_LANG_FLAGS "$@"
fi
if [ "$show" = all ]; then
    echo $compiler "$@"
    exit 0
fi
exec $compiler "$@"

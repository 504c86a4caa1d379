#!/bin/bash
# Build Tide's libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined).
#   fuzz/build.sh SRCDIR BUILDDIR OUTDIR
# SRCDIR: the source tree; BUILDDIR: a configured build tree (for config.h);
# OUTDIR: where the objects and the fuzz-<target> executables go.  Sources
# are compiled straight from the tree (not through libtool) so the library
# build keeps its own compiler and flags.  Incremental: an object is rebuilt
# only when its source or a header is newer.  CC overrides clang.
set -eu
src=$1 build=$2 out=$3
CC=${CC:-clang}
mkdir -p "$out/obj"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-g -O1 $SAN -fsanitize=fuzzer-no-link -pthread -I$src/include -I$src/src -I$build"
# The stream engine and what it stands on; the p2p frame checks.
LIBSRC="src/util/log.c src/util/param.c src/util/clock.c src/util/crc32c.c src/util/hash.c
        src/util/timer.c
        src/stream/seg.c src/stream/stats.c src/stream/stack.c src/stream/input.c
        src/stream/output.c src/stream/timers.c src/stream/sack.c src/stream/cc_newreno.c
        src/stream/cc_cubic.c src/stream/api.c
        src/p2p/frame.c"
[ -f "$src/src/stream/mac.c" ] && LIBSRC="$LIBSRC src/stream/mac.c"
LIBS="-lm -pthread"
if grep -q '^#define TIDE_HAVE_SODIUM 1' "$build/config.h" 2>/dev/null; then
    LIBS="$LIBS $(pkg-config --libs libsodium)"
fi
newest_hdr=$(find "$src/src" "$src/include" "$build/config.h" -name '*.h' -newer "$out/.stamp" 2>/dev/null | head -1 || true)
[ -f "$out/.stamp" ] || newest_hdr=all
objs="" todo=""
for f in $LIBSRC; do
    o="$out/obj/$(echo "$f" | tr / _).o"
    if [ -n "$newest_hdr" ] || [ ! -f "$o" ] || [ "$src/$f" -nt "$o" ]; then
        todo="$todo $src/$f $o"
    fi
    objs="$objs $o"
done
# two compilers at a time (the CI machine has two cores)
[ -z "$todo" ] || echo $todo | xargs -n2 -P2 sh -c "$CC $CFLAGS -c \"\$0\" -o \"\$1\""
for t in stream_input p2p_frame; do
    $CC $CFLAGS -fsanitize=fuzzer "$src/fuzz/$t.c" $objs $LIBS -o "$out/fuzz-$t"
done
touch "$out/.stamp"

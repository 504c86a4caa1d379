# Shared helpers for Tide's shell tests.  Source it first:
#   . "$TIDE_SRCDIR/test/lib.sh"
# A test exits 0 on pass, 77 to skip (say why), anything else on failure.
# Everything a test creates lives under $T (a fresh temporary directory) and
# is removed by the EXIT trap, also on failure; add more cleanup with
# tide_on_exit "command".
set -u
: "${TIDE_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)}"
: "${TIDE_BUILDDIR:=$TIDE_SRCDIR}"
: "${TIDE_PREFIX:=$TIDE_SRCDIR/_install}"
export TIDE_SRCDIR TIDE_BUILDDIR TIDE_PREFIX
# Tests never let the automatic wire rule pick a real NIC: traffic goes to
# loopback (udp) unless a test chooses eth on veths in its own namespaces.
export TIDE_WIRE="${TIDE_WIRE:-udp}"
# TIDE_TEST_LONG=1 turns on the long form of every test that has one; each
# test's own variable still wins when set (see README, "The two commands").
if [ "${TIDE_TEST_LONG:-0}" = 1 ]; then
    export TIDE_SOAK_LONG="${TIDE_SOAK_LONG:-1}" TIDE_SLURM_FULL="${TIDE_SLURM_FULL:-1}"
    export TIDE_MPICH_FULL="${TIDE_MPICH_FULL:-1}" TIDE_FUZZ_SECONDS="${TIDE_FUZZ_SECONDS:-600}"
    export TIDE_SUITES_FULL="${TIDE_SUITES_FULL:-1}" TIDE_ULFM_FULL="${TIDE_ULFM_FULL:-1}"
fi
# Sanitized builds (configure --enable-sanitizers, as TIDE_SANITIZE=1
# scripts/run-tests.sh makes): TIDE_SAN_CFLAGS holds the build's sanitizer
# flags, empty otherwise; mpicc adds them to every program a test builds.
# Any ASan/UBSan/LSan report ends the reporting process with exit 1 (23 for
# leaks), so a job or program that reports fails its test.  A test whose
# point clashes with a sanitizer adapts and says so (t-segv: handle_segv=0).
# Leaks inside third-party libraries are ignored (test/lsan.supp).
TIDE_SAN_CFLAGS=$(sed -n 's/^SAN_CFLAGS = //p' "$TIDE_BUILDDIR/Makefile" 2>/dev/null || true)
export TIDE_SAN_CFLAGS
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$TIDE_SRCDIR/test/lsan.supp:print_suppressions=0}"
if [ -n "$TIDE_SAN_CFLAGS" ]; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
fi
# Time limits that bound throughput (not hangs) scale: tide_secs 60 is 60 s,
# 180 s in a sanitized build (TIDE_TIME_SCALE, default 3 there, else 1).
: "${TIDE_TIME_SCALE:=$([ -n "$TIDE_SAN_CFLAGS" ] && echo 3 || echo 1)}"
export TIDE_TIME_SCALE
tide_secs() { echo $(($1 * TIDE_TIME_SCALE)); }
MPICC="$TIDE_PREFIX/bin/mpicc"
MPICXX="$TIDE_PREFIX/bin/mpicxx"
MPIRUN="$TIDE_PREFIX/bin/mpirun"
T=$(mktemp -d "${TMPDIR:-/tmp}/tide-test.XXXXXX")
TIDE_EXIT_HOOKS=""
tide_on_exit() { TIDE_EXIT_HOOKS="$1; $TIDE_EXIT_HOOKS"; }
tide_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    eval "$TIDE_EXIT_HOOKS" >/dev/null 2>&1 || true
    rm -rf "$T"
    exit $rc
}
trap tide_cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
note() { echo "# $*"; }

# Compile an MPI program from test/ sources: tide_build SRC [OUT] [extra flags]
tide_build() {
    local src=$1 out=${2:-$T/$(basename "${1%.*}")}
    shift 2 2>/dev/null || shift $#
    case "$src" in /*) ;; *) src="$TIDE_SRCDIR/$src" ;; esac
    case "$src" in
    *.cc | *.cpp) "$MPICXX" -Wall -Wextra -Werror -o "$out" "$src" "$@" ;;
    *) "$MPICC" -Wall -Wextra -Werror -o "$out" "$src" "$@" ;;
    esac || fail "could not compile $src"
}

# Expect: expect_rc WANT CMD... runs CMD, fails unless its exit code is WANT.
expect_rc() {
    local want=$1
    shift
    local rc=0
    "$@" || rc=$?
    [ "$rc" = "$want" ] || fail "expected exit $want, got $rc from: $*"
}

# Processes whose command line contains $T (everything a test starts runs
# from there): none may survive a job.
assert_no_leftovers() {
    local left
    sleep 0.2
    left=$(pgrep -af -- "$T/" | grep -v -e pgrep -e "$$" || true)
    [ -z "$left" ] || fail "processes left behind: $left"
}

# Helpers for the launcher tests (test/launch/t-*.sh), on top of test/lib.sh.
# Source after test/lib.sh.  mpirun's temporary directories go to $T/tmp
# (TMPDIR) so a test can check that none is left behind.
mkdir -p "$T/tmp"
export TMPDIR="$T/tmp"
ulimit -c 0 # crashing ranks must not leave core files
[ -x "$MPIRUN" ] || fail "no mpirun at $MPIRUN (make install first)"

# Cores this process may use (hwloc counts the same), one per line "core,socket".
launch_cores() {
    local allowed
    allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
    lscpu -p=CPU,CORE,SOCKET | grep -v '^#' | while IFS=, read -r cpu core sock; do
        launch_in_list "$cpu" "$allowed" && echo "$core,$sock"
    done | sort -u | wc -l
}

# launch_in_list N "0-3,8,10-11": is N in the cpu list?
launch_in_list() {
    local n=$1 part lo hi
    local IFS=,
    for part in $2; do
        lo=${part%-*}
        hi=${part#*-}
        [ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ] && return 0
    done
    return 1
}

# "--oversubscribe" when N ranks need it on this machine.
launch_oversub() {
    [ "$1" -gt "$(launch_cores)" ] && echo --oversubscribe
    return 0
}

# Build a bare PMIx client (no MPI library): launch_build_pmix SRC OUT
launch_build_pmix() {
    # shellcheck disable=SC2046
    ${CC:-cc} -Wall -Wextra -Werror -o "$2" "$TIDE_SRCDIR/$1" $(pkg-config --cflags --libs pmix) ||
        fail "could not compile $1"
}

# Run mpirun, keeping stdout in $T/out, stderr in $T/err and the exit
# code in $RC; the whole run is bounded (a hang is a failure, not a stall).
launch_run() {
    RC=0
    timeout -k 5 "${LAUNCH_LIMIT:-60}" "$MPIRUN" "$@" >"$T/out" 2>"$T/err" </dev/null || RC=$?
    [ "$RC" != 124 ] || [ "${LAUNCH_EXPECT_124:-0}" = 1 ] || {
        cat "$T/err" >&2
        fail "mpirun $* did not finish within ${LAUNCH_LIMIT:-60}s"
    }
}

launch_expect_rc() {
    [ "$RC" = "$1" ] || {
        echo "--- stdout" >&2
        cat "$T/out" >&2
        echo "--- stderr" >&2
        cat "$T/err" >&2
        fail "mpirun exited $RC, expected $1"
    }
}

# grep -q on stderr/stdout with a clear failure.
launch_err_has() { grep -q -- "$1" "$T/err" || { cat "$T/err" >&2; fail "stderr lacks: $1"; }; }
launch_out_has() { grep -q -- "$1" "$T/out" || { cat "$T/out" >&2; fail "stdout lacks: $1"; }; }

# No private temporary directory of mpirun may survive.
launch_no_tmpdirs() {
    local left
    left=$(find "$T/tmp" -maxdepth 1 -name 'tide-mpirun.*' 2>/dev/null)
    [ -z "$left" ] || fail "mpirun left temporary directories: $left"
}

# Wait up to $3 seconds for file $1 to have at least $2 lines.
launch_wait_lines() {
    local i=0
    while [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ]; do
        i=$((i + 1))
        [ $i -le $(($3 * 10)) ] || return 1
        sleep 0.1
    done
}

# A fresh directory for failer.c's start-up rendezvous (FAILER_SYNC).
launch_fresh_sync() {
    rm -rf "$T/sync"
    mkdir "$T/sync"
    export FAILER_SYNC="$T/sync"
}

#!/usr/bin/env bash
# Binding, read back by each rank with sched_getaffinity: --bind-to core
# gives each rank the cpus of one core of its own (the ones
# --report-bindings names); --bind-to none leaves mpirun's own cpu set.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/launch/launch-lib.sh"
tide_build test/launch/affinity.c "$T/affinity"
cores=$(launch_cores)
[ "$cores" -ge 2 ] || skip "needs 2 cores, this machine lets us use $cores"
mine=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)

# cpus of a rank from the program's output, as a sorted list
cpus_of() { sed -n "s/^rank $1 cpus //p" "$T/out"; }
for map in core socket; do
    launch_run -np 2 --bind-to core --map-by $map --report-bindings "$T/affinity"
    launch_expect_rc 0
    c0=$(cpus_of 0)
    c1=$(cpus_of 1)
    [ -n "$c0" ] && [ -n "$c1" ] || fail "no affinity output: $(cat "$T/out")"
    [ "$c0" != "$c1" ] || fail "--map-by $map: ranks share cpus $c0"
    for r in 0 1; do
        c=$(cpus_of $r)
        # one core: all its cpus have the same (core, socket)
        n=$(lscpu -p=CPU,CORE,SOCKET | grep -v '^#' | while IFS=, read -r cpu core sock; do
            launch_in_list "$cpu" "$c" && echo "$core,$sock"
        done | sort -u | wc -l)
        [ "$n" = 1 ] || fail "--map-by $map: rank $r runs on cpus $c, not one core"
        grep -q "rank $r (pid [0-9]*) bound to core [0-9]* (package [0-9]*): cpus $c\$" "$T/err" ||
            fail "--report-bindings disagrees with rank $r's cpus $c: $(cat "$T/err")"
    done
    note "--map-by $map: rank 0 on $c0, rank 1 on $c1"
done
# default with np <= cores: bound to cores too
launch_run -np 2 "$T/affinity"
launch_expect_rc 0
[ "$(cpus_of 0)" != "$(cpus_of 1)" ] || fail "default binding: both ranks on $(cpus_of 0)"

launch_run -np 2 --bind-to none --report-bindings "$T/affinity"
launch_expect_rc 0
want=$(seq 0 1023 | while read -r c; do launch_in_list "$c" "$mine" && echo "$c"; done | paste -sd,)
for r in 0 1; do
    [ "$(cpus_of $r)" = "$want" ] || fail "--bind-to none: rank $r on $(cpus_of $r), want $want"
done
launch_err_has "rank 0 (pid [0-9]*) not bound"
assert_no_leftovers
launch_no_tmpdirs

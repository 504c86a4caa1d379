#!/usr/bin/env bash
# The point-to-point tests (test/mpi/p2p.c) across test hosts: network
# namespaces on a bridge, one mpirun daemon in each, started with
# --launch-agent "ip netns exec"; ranks on different hosts talk over the
# eth wire through their veths and the bridge (eth0 in every namespace,
# so one TIDE_ETH_IF fits all).  2 hosts with 1 and 2 ranks each, and 3
# hosts.  The timing checks (eager, ssend) run where every rank has a core
# of its own; with more ranks than cores the rest run.  Afterwards no
# process is left in any namespace.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/cluster/cluster-lib.sh"
cluster_ns_setup 3 9000
tide_build test/mpi/p2p.c "$T/p2p" -pthread
ETH=(-x TIDE_WIRE=eth -x TIDE_ETH_IF=eth0 --timeout 80)
LAUNCH_LIMIT=90

run() {
    note "mpirun --host $*"
    launch_run "${NS[@]}" "${ETH[@]}" --tag-output --host "$@"
    launch_expect_rc 0
    cluster_no_procs
}
cores=$(launch_cores)
frames() { cat "/sys/class/net/tv${NET_ID}h$1/statistics/rx_packets"; }
before=$(frames 2)
run "$(cluster_hosts "1 2")" "$T/p2p"
[ $(($(frames 2) - before)) -gt 1000 ] || fail "few frames crossed host 2's veth: $before -> $(frames 2)"
[ "$(grep -c '^\[1,0\]<stdout>: p2p .* ok' "$T/out")" -ge 8 ] || fail "too few tests ran: $(cat "$T/out")"
launch_out_has "p2p eager *ok"
launch_out_has "p2p ssend *ok"
if [ "$cores" -ge 4 ]; then sel=(); else sel=(order anysrc trunc cancel modes pingpong threads); fi
run "$(cluster_hosts "1:2 2:2")" -np 4 "$T/p2p" "${sel[@]}"
launch_out_has "p2p anysrc *ok"
if [ "$cores" -ge 3 ]; then sel=(); fi
run "$(cluster_hosts "1 2 3")" "$T/p2p" "${sel[@]}"
launch_out_has "p2p order *ok"
# the acceptance form: two hosts of one slot each, four ranks (Open MPI's
# rules: that oversubscribes, so it needs --oversubscribe)
run "$(cluster_hosts "1 2")" -np 4 --oversubscribe "$T/p2p" order pingpong
assert_no_leftovers
launch_no_tmpdirs

#!/usr/bin/env bash
# Multi-host mpirun on fake hosts (daemons on this machine, started by an
# agent that ignores the host name): --host with slots, --hostfile, the
# default -np (all slots), --map-by slot|node|ppr:N:node, -npernode,
# --display-map, Open MPI's oversubscription refusal naming the shortfall,
# fences and direct modex relayed between daemons, --report-bindings and
# --bind-to socket, --enable-recovery across hosts, -x, a program that
# cannot be started, 3 million lines through stdin to rank 0 and back.
. "$TIDE_SRCDIR/test/lib.sh"
. "$TIDE_SRCDIR/test/cluster/cluster-lib.sh"
pkg-config --exists pmix || skip "no pmix pkg-config file"
launch_build_pmix test/launch/pmix_client.c "$T/pc"
cluster_fake_agent

# --host, slots, fence with data across daemons, the map
launch_run "${FAKE[@]}" --host a:2,b:2 --display-map "$T/pc" hello
launch_expect_rc 0
[ "$(grep -c '^rank [0-3] of 4 ok key' "$T/out")" = 4 ] || fail "hello: $(cat "$T/out" "$T/err")"
[ "$(awk '{print $NF}' "$T/out" | sort -u | wc -l)" = 1 ] || fail "hosts disagree on the job key"
launch_err_has "map of job tide-[0-9a-f-]*: 4 ranks on 2 hosts"
launch_err_has "a (slots 2): ranks 0,1"
launch_err_has "b (slots 2): ranks 2,3"
[ "$(sort "$T/agent.log" | tr '\n' ' ')" = "a b " ] || fail "agent saw: $(cat "$T/agent.log")"
assert_no_leftovers

# on one node the map is that node
launch_run -np 2 --display-map "$T/pc" hello
launch_expect_rc 0
launch_err_has "^mpirun: map of job tide-[0-9a-f-]*: 2 ranks on 1 host$"

# localhost and this machine's name need no agent: their daemons are forked
launch_run --host "localhost:2,$(hostname)" "$T/pc" hello
launch_expect_rc 0
[ "$(grep -c '^rank [0-2] of 3 ok' "$T/out")" = 3 ] || fail "local hosts: $(cat "$T/out" "$T/err")"

# direct modex: a get without a fence is answered by the other host
launch_run "${FAKE[@]}" --host a,b,c "$T/pc" dmodex
launch_expect_rc 0
[ "$(grep -c '^rank [0-2] dmodex ok' "$T/out")" = 3 ] || fail "dmodex: $(cat "$T/out" "$T/err")"

# hostfile: comments, slots, a repeated host adds slots
cat >"$T/hosts" <<HF
# test hosts
a slots=2   # two
b
b
HF
launch_run "${FAKE[@]}" --hostfile "$T/hosts" --display-map "$T/pc" hello
launch_expect_rc 0
launch_err_has "4 ranks on 2 hosts"
launch_err_has "b (slots 2): ranks 2,3"

# --map-by node: round robin; ppr and -npernode
launch_run "${FAKE[@]}" --host a:2,b:2 -np 3 --map-by node --display-map "$T/pc" hello
launch_expect_rc 0
launch_err_has "a (slots 2): ranks 0,2"
launch_err_has "b (slots 2): rank 1$"
launch_run "${FAKE[@]}" --host a:4,b:4 --map-by ppr:1:node --display-map "$T/pc" hello
launch_expect_rc 0
launch_err_has "a (slots 4): rank 0$"
cores=$(launch_cores)
launch_run "${FAKE[@]}" --host a:64,b:64 --map-by ppr:1:core --bind-to none --display-map "$T/pc" hello
launch_expect_rc 0
launch_err_has ": $((2 * cores)) ranks\? on 2 hosts"
launch_run "${FAKE[@]}" --host a:4,b:4 -npernode 3 --display-map "$T/pc" hello
launch_expect_rc 0
launch_err_has "b (slots 4): ranks 3,4,5"

# oversubscription as in Open MPI: refused with the shortfall, or allowed
launch_run "${FAKE[@]}" --host a,b -np 3 "$T/pc" hello
launch_expect_rc 1
launch_err_has "not enough slots: 3 ranks requested but the hosts have only 2 (a: 1, b: 1), 1 short"
launch_run "${FAKE[@]}" --host a:2 --map-by ppr:3:node "$T/pc" hello
launch_expect_rc 1
launch_err_has "ppr:3:node puts 3 ranks on a, which has 2 slots"
[ ! -s "$T/out" ] || fail "a refused job started something"
launch_run "${FAKE[@]}" --host a,b -np 4 --oversubscribe --bind-to none "$T/pc" hello
launch_expect_rc 0

# bindings are made and reported by each host's daemon
launch_run "${FAKE[@]}" --host a,b --report-bindings "$T/pc" hello
launch_expect_rc 0
launch_err_has "^mpirun: \[a\] rank 0 (pid [0-9]*) bound to core 0"
launch_err_has "^mpirun: \[b\] rank 1 (pid [0-9]*) bound to core 0"
launch_run "${FAKE[@]}" --host a,b --bind-to socket --report-bindings "$T/pc" hello
launch_expect_rc 0
launch_err_has "^mpirun: \[b\] rank 1 (pid [0-9]*) bound to package 0"

# a failing rank is named with its host; recovery works across hosts
launch_run "${FAKE[@]}" --host a,b "$T/pc" exit 1 3
launch_expect_rc 3
launch_err_has "rank 1 (pid [0-9]* on b) exited with code 3"
launch_run "${FAKE[@]}" --host a,b,c --enable-recovery "$T/pc" recover 1 5
launch_expect_rc 5
launch_err_has "rank 1 (pid [0-9]* on b) exited with code 5; the job goes on"
[ "$(grep -c "^rank [02] told rank 1 failed" "$T/out")" = 2 ] || fail "recovery: $(cat "$T/out" "$T/err")"
# ... also when a whole host is lost: its daemon killed
RC=0
"$MPIRUN" "${FAKE[@]}" --host a,b,c --enable-recovery "$T/pc" recover 1 -1 >"$T/out" 2>"$T/err" </dev/null &
PID=$!
tide_on_exit "kill -KILL $PID"
launch_wait_lines "$T/out" 1 30 || fail "recover -1 did not start: $(cat "$T/out" "$T/err")"
dpid=$(sed -n 's/^rank 1 parent \([0-9]*\)$/\1/p' "$T/out")
[ -n "$dpid" ] || fail "no daemon pid: $(cat "$T/out")"
kill -KILL "$dpid"
wait $PID || RC=$?
launch_expect_rc 1
launch_err_has "lost the daemon on host b (pid [0-9]*), which was killed by signal 9 (SIGKILL); its rank 1 is gone; the job goes on (--enable-recovery)"
[ "$(grep -c "^rank [02] told rank 1 failed" "$T/out")" = 2 ] || fail "host lost, recovery: $(cat "$T/out" "$T/err")"
assert_no_leftovers

launch_run "${FAKE[@]}" --host a,b "$T/pc" abort 1 9
launch_expect_rc 9
launch_err_has "rank 1 (pid [0-9]* on b) called MPI_Abort(..., 9): test abort"

# -x reaches ranks on other hosts (the daemon's environment is not ours)
launch_run "${FAKE[@]}" --host a,b -x TIDE_TEST_X=xyz -x HOME sh -c 'echo "$TIDE_TEST_X $HOME"'
launch_expect_rc 0
[ "$(grep -c "^xyz $HOME\$" "$T/out")" = 2 ] || fail "-x: $(cat "$T/out" "$T/err")"

# an agent that cannot reach the host: the daemon is reported lost
launch_run --launch-agent false --host a,b "$T/pc" hello
launch_expect_rc 1
launch_err_has "lost the daemon on host [ab] (pid [0-9]*), which exited with code 1; its rank [01] is gone"

# lots of stdin to rank 0 while it writes as much: mpirun must never block
# writing to a daemon that is blocked writing to it (that deadlocked)
tide_build test/launch/stdin.c "$T/stdin"
seq 1 3000000 >"$T/big"
RC=0
timeout -k 5 "$(tide_secs 60)" "$MPIRUN" "${FAKE[@]}" --host a,b "$T/stdin" <"$T/big" >"$T/out" 2>"$T/err" || RC=$?
launch_expect_rc 0
grep '^echo: ' "$T/out" | sed 's/^echo: //' | cmp -s - "$T/big" || fail "stdin across hosts arrived changed"

# a program that does not exist
launch_run "${FAKE[@]}" --host a,b "$T/no-such-program"
launch_expect_rc 127
launch_err_has "cannot find the program\|cannot start"
assert_no_leftovers
launch_no_tmpdirs

#!/bin/bash
# bench/netpipe.sh: NetPIPE 3.7.2's NPmpi (Debian's source tarball,
# unmodified, fetched by scripts/fetch-deps.sh) for Tide over eth and udp
# next to Debian's Open MPI and MPICH, in one run, between two network
# namespaces joined by a veth pair (MTU 9000, 10.79.0.1 and .2).
#
# NPmpi is built three times with the upstream makefile ("make mpi
# MPICC=..."): with Tide's mpicc, mpicc.openmpi and mpicc.mpich (Tide is
# never linked against the peers; their mpicc/mpirun are used here only).
# Every MPI runs one rank in each namespace, rank 0 on CPU 0 and rank 1 on
# CPU 1 (taskset; the launchers' binding off):
#   tide-eth   Tide, TIDE_WIRE=eth on eth0; Tide's mpirun starts one daemon
#              per namespace with --launch-agent "ip netns exec"
#   tide-udp   the same with TIDE_WIRE=udp bound to eth0
#   ompi-tcp   mpirun.openmpi, --mca pml ob1 --mca btl tcp,self
#   mpich-tcp  mpiexec.mpich, UCX_TLS=tcp,self, MPIR_CVAR_NOLOCAL=1
# (the peers' daemons start through an agent running "ip netns exec HOST").
# First each MPI passes NetPIPE's integrity check (-i, up to --upper), then
# the timed runs (NPmpi -p 0 -u UPPER: sizes 1, 2, 3, 4, 6, 8, 12, ... each
# the best of NetPIPE's 3 trials) are interleaved, implementation by
# implementation, --reps times; every point is the median over the reps.
#
#   bench/netpipe.sh [--prefix DIR] [--out DIR] [--reps N] [--upper BYTES]
#                    [--impls "tide-eth tide-udp ompi-tcp mpich-tcp"]
#                    [--nice N] [--no-integrity]
# --prefix DIR   Tide's install prefix (default $TIDE_PREFIX, else _install)
# --out DIR      results (default ./netpipe-results): results.csv (every
#                run: impl,rep,bytes,usec,MB/s), medians.csv, table.md, logs/
# --reps N       timed runs per implementation (default 3)
# --upper BYTES  largest message (default 8388608)
# --nice N       run every measured process under nice N (shared machine)
# Environment: TIDE_NETPIPE_TARBALL (default _deps/netpipe_3.7.2.orig.tar.gz).
# Needs root (namespaces, raw sockets) and openmpi-bin, mpich installed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$here/.." && pwd)
ARGS0="$*"
TP=${TIDE_PREFIX:-$SRC/_install} OUT=$PWD/netpipe-results REPS=3 UPPER=8388608
IMPLS="tide-eth tide-udp ompi-tcp mpich-tcp" NICE_N=0 INTEGRITY=1
TARBALL=${TIDE_NETPIPE_TARBALL:-$SRC/_deps/netpipe_3.7.2.orig.tar.gz}
while [ $# -gt 0 ]; do
    case "$1" in
    --prefix) TP=$2; shift ;;
    --out) OUT=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --upper) UPPER=$2; shift ;;
    --impls) IMPLS=$2; shift ;;
    --nice) NICE_N=$2; shift ;;
    --no-integrity) INTEGRITY=0 ;;
    -h | --help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "netpipe.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ "$REPS" -ge 1 ] 2>/dev/null || { echo "netpipe.sh: --reps needs a number" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "netpipe.sh: needs root (network namespaces)" >&2; exit 2; }
[ -f "$TARBALL" ] || { echo "netpipe.sh: $TARBALL missing (scripts/fetch-deps.sh)" >&2; exit 2; }
[ -x "$TP/bin/mpicc" ] && [ -x "$TP/bin/mpirun" ] ||
    { echo "netpipe.sh: no Tide mpicc/mpirun in $TP/bin (--prefix)" >&2; exit 2; }
NICE=()
[ "$NICE_N" != 0 ] && NICE=(nice -n "$NICE_N")
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
W=$OUT/work LOG=$OUT/logs
rm -rf "$W"
mkdir -p "$W" "$LOG"
T0=$(date +%s)
say() { printf '[netpipe %4ds] %s\n' $(($(date +%s) - T0)) "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- builds
build() { # impl mpicc
    local d="$W/build-$1"
    mkdir -p "$d"
    tar -xzf "$TARBALL" -C "$d" || die "cannot unpack $TARBALL"
    make -C "$d/NetPIPE-3.7.2" mpi MPICC="$2" >"$LOG/build-$1.log" 2>&1 ||
        die "NPmpi does not build with $2: $LOG/build-$1.log"
    NP[$1]=$d/NetPIPE-3.7.2/NPmpi
}
declare -A NP
need_impl() { case " $IMPLS " in *" $1"*) return 0 ;; esac; return 1; }
build tide "$TP/bin/mpicc"
if need_impl ompi; then
    command -v mpicc.openmpi >/dev/null || die "mpicc.openmpi missing (apt-get install openmpi-bin libopenmpi-dev)"
    build ompi mpicc.openmpi
fi
if need_impl mpich; then
    command -v mpicc.mpich >/dev/null || die "mpicc.mpich missing (apt-get install mpich libmpich-dev)"
    build mpich mpicc.mpich
fi

# ---------------------------------------------------------------- hosts
NS1=tnp$$a NS2=tnp$$b
CHILD=""
cleanup() {
    local p ns
    [ -n "$CHILD" ] && kill "$CHILD" 2>/dev/null && sleep 1
    for ns in $NS1 $NS2; do
        p=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$p" ] && kill -9 $p 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add $NS1 && ip netns add $NS2 || die "cannot make network namespaces"
ip -n $NS1 link add eth0 mtu 9000 type veth peer name eth0 mtu 9000 netns $NS2 ||
    die "cannot make a veth pair"
i=1
for ns in $NS1 $NS2; do
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
    ip -n $ns link set lo up
    ip -n $ns addr add 10.79.0.$i/24 dev eth0
    ip -n $ns link set eth0 up
    i=$((i + 1))
done
sleep 0.5
printf '%s slots=1\n%s slots=1\n' $NS1 $NS2 >"$W/hostfile"
# the peers' launch agent: "agent [-opts] HOST COMMAND..." runs COMMAND in
# namespace HOST with a TMPDIR of its own (both hosts share one host name)
cat >"$W/agent" <<'EOF'
#!/bin/sh
while [ "${1#-}" != "$1" ]; do shift; done
ns=$1
shift
d=$(dirname "$0")/tmp-$ns
mkdir -p "$d"
exec ip netns exec "$ns" env TMPDIR="$d" /bin/sh -c "$*"
EOF
# rank r on cpu r (mod the cpu count)
cat >"$W/pin" <<'EOF'
#!/bin/sh
r=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${PMIX_RANK:-0}}}
exec taskset -c $((r % $(nproc --all))) "$@"
EOF
chmod +x "$W/agent" "$W/pin"
mkdir -p "$W/tmp-launcher"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
veth_bytes() { ip netns exec $NS2 cat /sys/class/net/eth0/statistics/rx_bytes; }

# ---------------------------------------------------------------- runs
mpi_cmd() { # impl -> CMD (without NPmpi's arguments)
    case $1 in
    tide-eth | tide-udp)
        local wire=(-x TIDE_WIRE=eth -x TIDE_ETH_IF=eth0)
        [ "$1" = tide-udp ] && wire=(-x TIDE_WIRE=udp -x TIDE_UDP_ADDR=eth0)
        CMD=("${NICE[@]}" "$TP/bin/mpirun" --launch-agent "ip netns exec" --host "$NS1,$NS2"
            --timeout 600 --bind-to none "${wire[@]}" "$W/pin" "${NP[tide]}")
        ;;
    ompi-tcp)
        CMD=("${NICE[@]}" ip netns exec $NS1 env TMPDIR="$W/tmp-launcher" mpirun.openmpi
            --hostfile "$W/hostfile" -np 2 --bind-to none --mca plm_rsh_agent "$W/agent"
            --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include eth0
            --mca oob_tcp_if_include eth0 "$W/pin" "${NP[ompi]}")
        ;;
    mpich-tcp)
        CMD=("${NICE[@]}" ip netns exec $NS1 mpiexec.mpich -launcher ssh -launcher-exec "$W/agent"
            -hosts "$NS1,$NS2" -iface eth0 -n 2 -genv UCX_TLS tcp,self -genv UCX_NET_DEVICES eth0
            -genv MPIR_CVAR_NOLOCAL 1 "$W/pin" "${NP[mpich]}")
        ;;
    *) die "unknown implementation $1" ;;
    esac
}

NFAIL=0
np_run() { # impl tag NPmpi-args... -> $LOG/impl-tag.{log,out}; 0 if it ran
    local impl=$1 tag=$2 f="$LOG/$1-$2" rc b0
    shift 2
    mpi_cmd "$impl"
    b0=$(veth_bytes)
    echo "# ${CMD[*]} -o $f.out $*" >"$f.log"
    (cd "$W" && timeout 660 "${CMD[@]}" -o "$f.out" "$@") >>"$f.log" 2>&1 </dev/null &
    CHILD=$!
    wait $CHILD
    rc=$?
    CHILD=""
    echo "# exit $rc; veth bytes into host 2: $(($(veth_bytes) - b0))" >>"$f.log"
    [ $rc = 0 ] && [ -s "$f.out" ] && return 0
    NFAIL=$((NFAIL + 1))
    say "  $impl $tag FAILED (exit $rc), see $f.log"
    return 1
}

say "load at start: $(uptime)"
echo "impl,rep,bytes,usec,MB/s" >"$OUT/results.csv"
if [ $INTEGRITY = 1 ]; then
    for impl in $IMPLS; do
        say "integrity: $impl (NPmpi -i -n 3 -u $((UPPER + 1)))"
        np_run "$impl" integrity -i -n 3 -u $((UPPER + 1)) || continue
        if grep -q "Integrity check failed" "$LOG/$impl-integrity.log"; then
            NFAIL=$((NFAIL + 1))
            say "  $impl: $(grep -m1 'Integrity check failed' "$LOG/$impl-integrity.log")"
        else
            say "  $impl: $(wc -l <"$LOG/$impl-integrity.out") sizes verified up to $(awk 'END { print $1 }' "$LOG/$impl-integrity.out") bytes"
        fi
    done
fi
for rep in $(seq "$REPS"); do
    for impl in $IMPLS; do
        say "rep $rep/$REPS: $impl (NPmpi -p 0 -u $UPPER)"
        np_run "$impl" "rep$rep" -p 0 -u "$UPPER" || continue
        # NetPIPE's columns: bytes, Mbps (2^20 bits/s), one-way seconds
        awk -v p="$impl,$rep" 'NF == 3 { printf "%s,%d,%.3f,%.2f\n", p, $1, $3 * 1e6, $1 / $3 / 1e6 }' \
            "$LOG/$impl-rep$rep.out" >>"$OUT/results.csv"
    done
done
say "load at end: $(uptime)"

# ---------------------------------------------------------------- report
# medians per impl and size of usec and MB/s
tail -n +2 "$OUT/results.csv" | sort -t, -k1,1 -k3,3n | awk -F, '
    function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function flush(   i, j, t) {
        if (!n) return
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) {
            if (u[j] < u[i]) { t = u[i]; u[i] = u[j]; u[j] = t }
            if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
        }
        printf "%s,%.3f,%.2f,%d\n", key, med(u, n), med(b, n), n
    }
    { k = $1 "," $3; if (k != key) { flush(); key = k; n = 0 } u[++n] = $4; b[n] = $5 }
    END { flush() }' >"$OUT/medians.body"
{ echo "impl,bytes,usec,MB/s,runs"; cat "$OUT/medians.body"; } >"$OUT/medians.csv"
rm -f "$OUT/medians.body"
get() { awk -F, -v i="$1" -v s="$2" -v c="$3" '$1 == i && $2 == s { print $c; exit }' "$OUT/medians.csv"; }
{
    echo "NetPIPE 3.7.2 NPmpi, two namespaces on a veth (MTU 9000), median of $REPS runs"
    echo "(each run: the best of NetPIPE's 3 trials per size); $(date -u '+%F %H:%M UTC')"
    echo
    printf '| size |'
    for impl in $IMPLS; do printf ' %s |' "$impl"; done
    printf '\n|---|'
    for impl in $IMPLS; do printf -- '---|'; done
    echo
    for s in 1 8 64 1024 8192; do
        printf '| %s B latency (us) |' "$s"
        for impl in $IMPLS; do printf ' %s |' "$(get "$impl" $s 3)"; done
        echo
    done
    for s in $(printf '%s\n' 65536 1048576 4194304 "$UPPER" | sort -nu); do
        [ "$s" -le "$UPPER" ] || continue
        printf '| %s B bandwidth (MB/s) |' "$s"
        for impl in $IMPLS; do printf ' %s |' "$(get "$impl" "$s" 4)"; done
        echo
    done
    echo
    echo "Failed runs: $NFAIL.  Command: bench/netpipe.sh $ARGS0"
} >"$OUT/table.md"
cat "$OUT/table.md"
[ $NFAIL = 0 ]

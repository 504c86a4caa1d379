#!/bin/sh
# Run commands inside QEMU guests that have soft-RoCE (rdma_rxe), for the
# roce wire's tests on hosts whose own kernel has no RDMA support.
#
#   guest.sh [-m MEM] [-o OUTDIR] [-t SECS] one CMD...
#       one guest: dummy0 (198.18.0.1/24) with rxe0 on it; runs CMD
#   guest.sh [-m MEM] [-o OUTDIR] [-t SECS] pair CMD_A -- CMD_B
#       two guests joined by a qemu socket link on 127.0.0.1 (eth0 with
#       198.18.0.1 and .2, rxe0 on eth0): real RoCE v2 frames cross
#   guest.sh check
#       exit 0 if a guest can be built here, else print why and exit 77
#
# The guest boots Debian's stock kernel (/boot/vmlinuz-*, the newest one
# whose modules include rdma_rxe) under qemu-system-x86_64 -accel tcg,
# shares this machine's root read-only over virtio-9p and OUTDIR read-write
# (mounted at the same path in the guest), and starts from a small busybox
# initramfs built here and cached in $TIDE_GUEST_CACHE (default
# $TIDE_BUILDDIR/test/roce/guest-cache, or /var/cache/tide-guest without a
# build dir; rebuilt when missing or older than this script).
# CMD runs under /bin/sh in OUTDIR with TIDE_GUEST=1 (and TIDE_GUEST_ID=a|b
# for a pair); its output goes to OUTDIR/out-a (out-b), its exit code to
# OUTDIR/rc-a (rc-b) and the guest console to OUTDIR/console-a (-b).  The
# exit code of guest.sh is CMD's (for a pair: the first non-zero), 124 when
# a guest did not finish within SECS, 125 when a guest did not boot.
# Addresses 198.18.0.0/24 (RFC 2544 test range) exist only inside the
# guests; the host only sees qemu talking to itself on 127.0.0.1.
set -u
ME=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
if [ -n "${TIDE_BUILDDIR:-}" ]; then
    CACHE=${TIDE_GUEST_CACHE:-$TIDE_BUILDDIR/test/roce/guest-cache}
else
    CACHE=${TIDE_GUEST_CACHE:-/var/cache/tide-guest}
fi
MEM=3072
SECS=100
OUT=""

die() {
    echo "guest.sh: $*" >&2
    exit 125
}

# ---- on the host ----

# The newest installed kernel with rdma_rxe; prints its version.
guest_kernel() {
    for v in $(ls /lib/modules 2>/dev/null | sort -rV); do
        if [ -r "/boot/vmlinuz-$v" ] && [ -e "/lib/modules/$v/modules.dep" ] &&
            grep -q '/rdma_rxe\.ko' "/lib/modules/$v/modules.dep"; then
            echo "$v"
            return 0
        fi
    done
    return 1
}

# Why a guest cannot run here (empty when it can).
guest_why_not() {
    command -v qemu-system-x86_64 >/dev/null ||
        { echo "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"; return; }
    [ -x /bin/busybox ] || { echo "busybox missing (apt-get install busybox-static)"; return; }
    command -v cpio >/dev/null || { echo "cpio missing (apt-get install cpio)"; return; }
    guest_kernel >/dev/null ||
        { echo "no kernel with rdma_rxe in /boot (apt-get install linux-image-amd64)"; return; }
    command -v rdma >/dev/null || { echo "the rdma tool is missing (apt-get install iproute2)"; return; }
    ls /etc/libibverbs.d/rxe.driver >/dev/null 2>&1 ||
        { echo "the rxe verbs provider is missing (apt-get install ibverbs-providers)"; return; }
    [ "$(id -u)" = 0 ] || { echo "needs root (the kernel image is readable by root only)"; return; }
}

# Modules (paths under /lib/modules/$v) for $@, dependencies first.
mod_order() (
    v=$1
    shift
    for m in "$@"; do
        line=$(grep "/$m\.ko:" "/lib/modules/$v/modules.dep") || die "no module $m in $v"
        for d in ${line#*:}; do
            mod_order "$v" "$(basename "$d" .ko)"
        done
        echo "${line%%:*}"
    done
)

# Build the initramfs for kernel $1 into $CACHE/initrd-$1.cpio.gz.
build_initrd() {
    v=$1
    img=$CACHE/initrd-$v.cpio.gz
    if [ -s "$img" ] && [ "$img" -nt "$ME" ]; then
        return 0
    fi
    mkdir -p "$CACHE" || die "cannot create $CACHE (TIDE_GUEST_CACHE)"
    d=$(mktemp -d "$CACHE/initrd.XXXXXX") || die "mktemp in $CACHE"
    mkdir -p "$d/bin" "$d/dev" "$d/proc" "$d/sys" "$d/newroot" "$d/mods"
    cp /bin/busybox "$d/bin/busybox"
    ln -s busybox "$d/bin/sh"
    mod_order "$v" virtio_pci 9pnet_virtio 9p | awk '!seen[$0]++' >"$d/mods/order"
    while read -r m; do
        cp "/lib/modules/$v/$m" "$d/mods/$(basename "$m")"
    done <"$d/mods/order"
    cat >"$d/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod "/mods/${m##*/}"; done </mods/order
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /newroot ||
    { echo "tide-guest: cannot mount the host root"; echo o >/proc/sysrq-trigger; }
script=$(sed -n 's/.*tide_script=\([^ ]*\).*/\1/p' /proc/cmdline)
for m in proc sys dev; do mount --move /$m /newroot/$m; done
mount -t tmpfs run /newroot/run
exec switch_root /newroot /bin/sh "$script" --inside
EOF
    chmod +x "$d/init"
    (cd "$d" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$img.tmp" &&
        mv "$img.tmp" "$img" || die "cannot write $img"
    rm -rf "$d"
}

# Start one guest in the background: qemu_start ID MEM OUTDIR CPUS [netdev args].
qemu_start() {
    id=$1 mem=$2 out=$3 smp=$4
    shift 4
    qemu-system-x86_64 -accel tcg,thread=multi -smp "$smp" -m "$mem" -nodefaults -no-reboot \
        -display none -monitor none -serial "file:$out/console-$id" \
        -kernel "/boot/vmlinuz-$KVER" -initrd "$CACHE/initrd-$KVER.cpio.gz" \
        -append "console=ttyS0 quiet panic=-1 tide_script=$ME tide_id=$id tide_out=$out" \
        -fsdev local,id=root,path=/,readonly=on,security_model=none,multidevs=remap \
        -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
        -fsdev local,id=out,path="$out",security_model=none \
        -device virtio-9p-pci,fsdev=out,mount_tag=tideout \
        "$@" &
    eval "QPID_$id=\$!"
}

# Wait for the guests' rc files (or their qemu to end) for SECS seconds.
qemu_wait() {
    end=$(($(date +%s) + SECS))
    for id in "$@"; do
        eval "pid=\$QPID_$id"
        while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "guest.sh: guest $id still running after ${SECS}s: stopped" >&2
            kill "$pid"
        fi
        wait "$pid" 2>/dev/null
    done
}

# Exit code for guest $1: its command's, 125 if it did not boot, 124 if late.
guest_rc() {
    if [ -s "$OUT/rc-$1" ]; then
        cat "$OUT/rc-$1"
    elif grep -q 'tide-guest: ready' "$OUT/console-$1" 2>/dev/null; then
        echo 124
    else
        echo 125
    fi
}

host_main() {
    while getopts m:o:t: c; do
        case $c in
        m) MEM=$OPTARG ;;
        o) OUT=$OPTARG ;;
        t) SECS=$OPTARG ;;
        *) exit 2 ;;
        esac
    done
    shift $((OPTIND - 1))
    mode=${1:-}
    [ $# -gt 0 ] && shift
    why=$(guest_why_not)
    if [ "$mode" = check ]; then
        [ -z "$why" ] && exit 0
        echo "$why"
        exit 77
    fi
    [ -z "$why" ] || die "$why"
    KVER=$(guest_kernel)
    build_initrd "$KVER"
    own_out=""
    if [ -z "$OUT" ]; then
        OUT=$(mktemp -d "${TMPDIR:-/tmp}/tide-guest.XXXXXX")
        own_out=1
    fi
    OUT=$(cd "$OUT" && pwd)
    case $mode in
    one)
        printf '%s\n' "$*" >"$OUT/cmd-a"
        qemu_start a "$MEM" "$OUT" 2
        qemu_wait a
        rc=$(guest_rc a)
        ;;
    pair)
        a="" b=""
        while [ $# -gt 0 ] && [ "$1" != -- ]; do a="$a $1"; shift; done
        [ $# -gt 0 ] && shift
        b="$*"
        printf '%s\n' "$a" >"$OUT/cmd-a"
        printf '%s\n' "$b" >"$OUT/cmd-b"
        pa=$((20000 + $$ % 20000)) pb=$((20001 + $$ % 20000))
        half=$((MEM / 2))
        qemu_start a "$half" "$OUT" 1 -netdev "socket,id=n0,udp=127.0.0.1:$pb,localaddr=127.0.0.1:$pa" \
            -device virtio-net-pci,netdev=n0,mac=52:54:00:71:de:0a
        qemu_start b "$half" "$OUT" 1 -netdev "socket,id=n0,udp=127.0.0.1:$pa,localaddr=127.0.0.1:$pb" \
            -device virtio-net-pci,netdev=n0,mac=52:54:00:71:de:0b
        qemu_wait a b
        rc=$(guest_rc a)
        [ "$rc" = 0 ] && rc=$(guest_rc b)
        ;;
    *)
        echo "usage: guest.sh [-m MEM] [-o OUTDIR] [-t SECS] one CMD | pair CMD_A -- CMD_B | check" >&2
        exit 2
        ;;
    esac
    for f in "$OUT"/out-*; do
        [ -e "$f" ] && { echo "--- ${f##*/}"; cat "$f"; }
    done
    if [ "$rc" = 125 ] || [ "$rc" = 124 ]; then
        for f in "$OUT"/console-*; do
            [ -e "$f" ] && { echo "--- ${f##*/} (tail)"; tail -n 30 "$f"; }
        done
    fi
    [ -n "$own_out" ] && rm -rf "$OUT"
    exit "$rc"
}

# ---- inside the guest (PID 1 after switch_root) ----

guest_arg() {
    sed -n "s/.*$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline
}

guest_net() {
    id=$1
    modprobe rdma_rxe || return 1
    ip link set lo up
    if [ -e /sys/bus/pci/drivers ] && modprobe virtio_net 2>/dev/null && ip link show eth0 >/dev/null 2>&1; then
        n=1
        [ "$id" = b ] && n=2
        ip addr add "198.18.0.$n/24" dev eth0 && ip link set eth0 up || return 1
        rdma link add rxe0 type rxe netdev eth0 || return 1
    else
        modprobe dummy numdummies=0 2>/dev/null
        ip link add dummy0 type dummy && ip addr add 198.18.0.1/24 dev dummy0 &&
            ip link set dummy0 up || return 1
        rdma link add rxe0 type rxe netdev dummy0 || return 1
    fi
    # the IPv4-mapped RoCE v2 GID appears shortly after the address is set
    for i in $(seq 50); do
        grep -q '0000:0000:0000:0000:0000:ffff' /sys/class/infiniband/rxe0/ports/1/gids/* 2>/dev/null &&
            return 0
        sleep 0.1
    done
    echo "tide-guest: no IPv4-mapped GID on rxe0" >&2
    return 1
}

guest_main() {
    mkdir -p /dev/shm /dev/pts /run/tmp
    mount -t tmpfs shm /dev/shm
    mount -t devpts pts /dev/pts
    id=$(guest_arg tide_id)
    out=$(guest_arg tide_out)
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 tideout "$out" ||
        { echo "tide-guest: cannot mount $out"; echo o >/proc/sysrq-trigger; }
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    export TMPDIR=/run/tmp HOME=/run/tmp TIDE_GUEST=1 TIDE_GUEST_ID="$id"
    echo "tide-guest: ready $(cut -d' ' -f1 /proc/uptime)s"
    rc=0
    if guest_net "$id" >"$out/net-$id" 2>&1; then
        cd "$out" && /bin/sh "$out/cmd-$id" >"$out/out-$id" 2>&1 || rc=$?
    else
        cat "$out/net-$id"
        rc=126
    fi
    echo "$rc" >"$out/rc-$id"
    echo "tide-guest: done rc=$rc $(cut -d' ' -f1 /proc/uptime)s"
    sync
    cd /
    umount "$out"
    echo o >/proc/sysrq-trigger
    sleep 10
}

if [ "${1:-}" = --inside ]; then
    guest_main
else
    host_main "$@"
fi

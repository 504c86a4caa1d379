#!/usr/bin/env bash
# Set up a Debian 12 machine for Tide and build it: install the Debian
# packages Tide needs (only those missing), generate configure, configure
# into _build/ with the prefix _install/, build and install.  Idempotent.
#   scripts/setup.sh [extra configure arguments]
# Environment: TIDE_BUILD_DIR (default _build), TIDE_PREFIX (default _install),
#              TIDE_JOBS (default: number of cores).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${TIDE_BUILD_DIR:-$top/_build}
prefix=${TIDE_PREFIX:-$top/_install}
jobs=${TIDE_JOBS:-$(nproc)}

# Build and test dependencies (Debian package names).  Keep in sync with
# README.md ("Building by hand").
packages=(
    build-essential autoconf automake libtool pkg-config
    libpmix-dev libhwloc-dev check libsubunit-dev libibverbs-dev
    iproute2 libcap2-bin procps psmisc
    # mpirun's default launch agent, tested for real (test/cluster/t-ssh.sh)
    openssh-server
    # soft-RoCE tests (test/roce): a stock Debian kernel with rdma_rxe booted
    # under QEMU, the rxe verbs provider, busybox for the guest's initramfs
    qemu-system-x86 linux-image-amd64 busybox-static cpio ibverbs-providers
    # Slurm tests (test/slurm): a local slurmctld/slurmd with munge, srun's
    # PMIx plugin (slurm-wlm-basic-plugins)
    slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge
    # hardening (issue 9): libFuzzer targets and sanitizers (clang), the
    # authenticated frame mode (libsodium), memcheck runs (valgrind)
    clang libsodium-dev valgrind
    # HPC Challenge (test/suites/t-hpcc.sh): a BLAS
    libblas-dev
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

"$top/scripts/fetch-deps.sh" || echo "== optional test sources not fetched: test/mpich will skip"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    echo "== generating configure"
    ./autogen.sh >/dev/null
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ ! -f config.status ] || [ "$top/configure" -nt config.status ] ||
    ! grep -q -- "--prefix=$prefix" config.status; then
    echo "== configuring (prefix $prefix)"
    "$top/configure" --prefix="$prefix" "$@" >configure.out || {
        tail -20 configure.out
        exit 1
    }
    sed -n '/^Tide .* configuration/,$p' configure.out
fi
echo "== building"
make -s -j"$jobs" >make.out 2>&1 || {
    tail -40 make.out
    exit 1
}
make -s install >install.out 2>&1 || {
    tail -20 install.out
    exit 1
}
echo "== installed into $prefix"

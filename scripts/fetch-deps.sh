#!/usr/bin/env bash
# Fetch the third-party sources Tide's optional test suites use into the
# cache folder _deps/ of the checkout (or $TIDE_DEPS_DIR), verify each
# against its pinned SHA-256, and skip what is already there.  Today, from
# Debian's mirror: the MPICH 4.0.2 source tarball, whose test/mpi suite
# test/mpich/ runs against Tide (doc/mpich-tests.md), NetPIPE 3.7.2, whose
# NPmpi test/suites/ and bench/netpipe.sh build and run against Tide, and
# HPC Challenge 1.5.0 (test/suites/t-hpcc.sh; doc/benchmarks.md).  Nothing
# is unpacked here; the runners unpack what they need into their own build
# folders.
#   scripts/fetch-deps.sh            fetch what is missing, verify all
# Environment: TIDE_DEPS_DIR (default _deps), TIDE_DEPS_MIRROR (default
# http://deb.debian.org/debian).  Exit 0 when every file is present and
# verified, 1 otherwise (a download failure is reported, not fatal to the
# caller's build: setup.sh goes on without the optional suites).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
deps=${TIDE_DEPS_DIR:-$top/_deps}
mirror=${TIDE_DEPS_MIRROR:-http://deb.debian.org/debian}

# name  sha256  path on the mirror
files=(
    "mpich_4.0.2.orig.tar.xz b27039f964afeb6b8a3e009c56b441cbe368c26d6d6476ad3bb7190996875860 pool/main/m/mpich/mpich_4.0.2.orig.tar.xz"
    "netpipe_3.7.2.orig.tar.gz 13dac884ff52951636f651c421f5ff4a853218a95aa28a4a852402ee385a2ab8 pool/main/n/netpipe/netpipe_3.7.2.orig.tar.gz"
    "hpcc_1.5.0.orig.tar.gz 0a6fef7ab9f3347e549fed65ebb98234feea9ee18aea0c8f59baefbe3cf7ffb8 pool/main/h/hpcc/hpcc_1.5.0.orig.tar.gz"
)

download() { # url out
    if command -v curl >/dev/null; then
        curl -fsSL --retry 3 -o "$2" "$1"
    elif command -v wget >/dev/null; then
        wget -q -O "$2" "$1"
    else
        echo "fetch-deps: neither curl nor wget is installed" >&2
        return 1
    fi
}

verified() { # file sha256
    [ -f "$1" ] && echo "$2  $1" | sha256sum -c --status -
}

mkdir -p "$deps"
rc=0
for entry in "${files[@]}"; do
    read -r name sum path <<<"$entry"
    out="$deps/$name"
    if verified "$out" "$sum"; then
        continue
    fi
    echo "== fetching $name"
    if ! download "$mirror/$path" "$out.part"; then
        echo "fetch-deps: could not download $mirror/$path" >&2
        rm -f "$out.part"
        rc=1
        continue
    fi
    if ! verified "$out.part" "$sum"; then
        echo "fetch-deps: $name does not match its SHA-256 $sum; removed" >&2
        rm -f "$out.part"
        rc=1
        continue
    fi
    mv "$out.part" "$out"
done
exit $rc

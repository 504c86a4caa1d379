#!/usr/bin/env bash
# The README's first command: set up and build Tide (scripts/setup.sh), then
# run the main job with our own mpirun: 2 ranks.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
prefix=${TIDE_PREFIX:-$top/_install}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== main job: mpirun -np 2 hello_pmix"
"$prefix/bin/mpicc" -o "$work/hello_pmix" "$top/test/mpi/hello_pmix.c" $(pkg-config --cflags --libs pmix)
"$prefix/bin/mpirun" -np 2 "$work/hello_pmix"

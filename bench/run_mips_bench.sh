#!/usr/bin/env bash
# Runs mips_bench with QEMU there to compare against: installs Debian's qemu-system-x86 when
# qemu-system-x86_64 is missing (the benchmark's only use of it; no build or test step needs QEMU),
# builds the benchmark in the build directory and runs it.
#
# Usage: bench/run_mips_bench.sh [rounds]     XKVM_BUILD_DIR picks the build directory (default build/).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${XKVM_BUILD_DIR:-$top/build}

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "run_mips_bench: installing qemu-system-x86 (for qemu-system-x86_64 -accel tcg)" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y qemu-system-x86 >/dev/null ||
        { $sudo apt-get update >/dev/null && $sudo apt-get install -y qemu-system-x86 >/dev/null; }
fi

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
    echo "run_mips_bench: no build in $build (run scripts/build.sh, or set XKVM_BUILD_DIR)" >&2
    exit 1
fi
cmake --build "$build" --target mips_bench
exec "$build/bench/mips_bench" "$@"

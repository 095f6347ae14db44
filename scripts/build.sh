#!/usr/bin/env bash
# Configures and builds xkvm into build/ (release with debug info, guests and benchmarks included).
# Arguments, if any, are the targets to build instead of everything (scripts/test.sh builds
# `integration_tests`).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
cmake -S "$top" -B "$top/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$top/build" --parallel "$(nproc)" "${targets[@]}"

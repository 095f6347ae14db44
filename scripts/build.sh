#!/usr/bin/env bash
# Configures and builds xkvm into build/ (release with debug info, guests and benchmarks included).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
cmake -S "$top" -B "$top/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" --parallel "$(nproc)"

#!/usr/bin/env bash
# A long run of one fuzz target (issue 11: 10 M executions without a crash):
#   scripts/fuzz-long.sh <target, e.g. iommu_fuzz> [executions, default 10000000]
# Needs build-fuzz/ (scripts/fuzz.sh builds it). New inputs go to build-fuzz/long/<target>/, the
# committed corpus is read second and left as it is; a crashing input is kept as
# build-fuzz/long/<target>.crash-*, the whole log as build-fuzz/long/<target>.log. Ends with RESULT
# lines: executions made, executions per second, wall seconds, and whether it ran clean.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: fuzz-long.sh <target> [executions]}
runs=${2:-10000000}
bin=$top/build-fuzz/fuzz/$target
[ -x "$bin" ] || { echo "fuzz-long: no $bin; build it first (scripts/fuzz.sh)" >&2; exit 2; }
out=$top/build-fuzz/long
mkdir -p "$out/$target"
start=$(date +%s)
rc=0
# -entropic_feature_frequency_threshold: see "Speed" in fuzz/README.md.
(cd "$top/build-fuzz" && "$bin" -runs="$runs" -print_final_stats=1 -entropic_feature_frequency_threshold=16 \
  -artifact_prefix="$out/$target." "$out/$target" "$top/fuzz/corpus/$target") >"$out/$target.log" 2>&1 || rc=$?
stat() { grep -o "stat::$1: *[0-9]*" "$out/$target.log" | grep -o '[0-9]*$' | tail -1; }
echo "RESULT ${target}_executions $(stat number_of_executed_units) runs"
echo "RESULT ${target}_exec_per_sec $(stat average_exec_per_sec) runs/s"
echo "RESULT ${target}_wall $(( $(date +%s) - start )) s"
echo "RESULT ${target}_clean $([ "$rc" = 0 ] && echo 1 || echo 0) bool"
exit "$rc"

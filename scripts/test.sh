#!/usr/bin/env bash
# Sets up, builds and runs every test: the full suite (unit, conformance guests, CLI end to end) and a
# report of every skip with its reason; then the unit tests again under ASan+UBSan; then the fuzz
# targets under clang (corpus replay and a short run each, two at a time).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$top/scripts/build.sh"

echo "== full suite"
ctest --test-dir "$top/build" --output-on-failure --parallel "$jobs" --timeout 300 \
  --output-junit "$top/build/junit.xml"
"$top/scripts/skip-report.sh" "$top/build/junit.xml"

echo "== unit tests under ASan+UBSan"
cmake -S "$top" -B "$top/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXKVM_SANITIZE=ON -DXKVM_UNIT_ONLY=ON >/dev/null
cmake --build "$top/build-asan" --parallel "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$top/build-asan" -L unit --no-tests=error --output-on-failure --parallel "$jobs" --timeout 300

echo "== fuzz targets (clang, libFuzzer): corpus replay and a short run each"
CC=clang CXX=clang++ cmake -S "$top" -B "$top/build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DXKVM_FUZZ=ON -DXKVM_UNIT_ONLY=ON >/dev/null
cmake --build "$top/build-fuzz" --parallel "$jobs" --target fuzzers
ctest --test-dir "$top/build-fuzz" -L fuzz --no-tests=error --output-on-failure --parallel "$jobs" --timeout 300
run_fuzzer() {
  local f=$1 name scratch
  name=$(basename "$f")
  scratch=$(mktemp -d)
  "$f" -max_total_time="${XKVM_FUZZ_SECONDS:-10}" -print_final_stats=0 "$scratch" \
    "$top/fuzz/corpus/$name" >/dev/null 2>"$scratch.log" || { echo "fuzz: $name FAILED"; cat "$scratch.log"; return 1; }
  rm -rf "$scratch" "$scratch.log"
  echo "fuzz: $name ok"
}
export -f run_fuzzer
export top
ls "$top"/build-fuzz/fuzz/*_fuzz | xargs -P "$jobs" -I{} bash -c 'run_fuzzer {}'
echo "== all tests passed"

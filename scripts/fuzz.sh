#!/usr/bin/env bash
# Builds the fuzz targets with clang and libFuzzer (ASan+UBSan) into build-fuzz/, replays their
# corpora, then fuzzes each for XKVM_FUZZ_SECONDS (default 60), two at a time. New inputs that find
# crashes are left in build-fuzz/ (libFuzzer's crash-* files): add them to fuzz/corpus/<target>/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$top/scripts/deps.sh" --fuzz
CC=clang CXX=clang++ cmake -S "$top" -B "$top/build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DXKVM_FUZZ=ON -DXKVM_UNIT_ONLY=ON >/dev/null
cmake --build "$top/build-fuzz" --parallel "$jobs" --target fuzzers
ctest --test-dir "$top/build-fuzz" -L fuzz --no-tests=error --output-on-failure --parallel "$jobs" --timeout 300
run_fuzzer() {
  local f=$1 name scratch
  name=$(basename "$f")
  scratch=$(mktemp -d)
  # -entropic_feature_frequency_threshold: see "Speed" in fuzz/README.md.
  (cd "$top/build-fuzz" && "$f" -max_total_time="${XKVM_FUZZ_SECONDS:-60}" -print_final_stats=0 \
    -entropic_feature_frequency_threshold=16 "$scratch" \
    "$top/fuzz/corpus/$name" >/dev/null 2>"$scratch.log") || { echo "fuzz: $name FAILED"; cat "$scratch.log"; return 1; }
  rm -rf "$scratch" "$scratch.log"
  echo "fuzz: $name ok"
}
export -f run_fuzzer
export top
ls "$top"/build-fuzz/fuzz/*_fuzz | xargs -P "$jobs" -I{} bash -c 'run_fuzzer {}'
echo "== fuzzing done"

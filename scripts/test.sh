#!/usr/bin/env bash
# Sets up, builds and runs every test: the tests that boot guests or drive the CLI end to end from the
# release build, then the unit tests and the fuzz corpora under ASan+UBSan, then a report of every
# skip with its reason. Each unit test is compiled and run once, in the sanitizer build: compiling it
# again for the release build would cost CI a third of its time and check less. Fuzzing proper
# (libFuzzer, clang) is scripts/fuzz.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$top/scripts/build.sh" integration_tests

echo "== guests and the CLI end to end (release build)"
ctest --test-dir "$top/build" -LE unit --no-tests=error --output-on-failure --parallel "$jobs" --timeout 300 \
  --output-junit "$top/build/junit.xml"

echo "== unit tests and fuzz corpora under ASan+UBSan"
# The libraries at -O1 (as ASan's authors advise: twice as fast as -O0 for the same compile time),
# test code at -Og (cmake/BuildTime.cmake); the fuzz targets are built as corpus replayers here
# (scripts/fuzz.sh builds them with libFuzzer).
cmake -S "$top" -B "$top/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DXKVM_SANITIZE=ON -DXKVM_UNIT_ONLY=ON -DXKVM_FUZZ_REPLAY=ON >/dev/null
cmake --build "$top/build-asan" --parallel "$jobs" --target unit_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$top/build-asan" -L 'unit|fuzz' --no-tests=error --output-on-failure --parallel "$jobs" \
  --timeout 300 --output-junit "$top/build-asan/junit.xml"

"$top/scripts/skip-report.sh" "$top/build/junit.xml" "$top/build-asan/junit.xml"
echo "== all tests passed"

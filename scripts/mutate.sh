#!/usr/bin/env bash
# Mutation testing by hand (not in CI). Applies each one-line mutation of scripts/mutations.txt to the
# hypercall and xenstore handlers in turn, rebuilds only the unit tests of the mutated file's folder
# in build-mutate/ (a unit-only build), runs them, and reports which mutations they kill.
#   scripts/mutate.sh [list]            all mutations of the list (default scripts/mutations.txt)
#   MUTATE_ONLY=regex scripts/mutate.sh  only the list lines matching regex (to re-check survivors)
# A mutation whose original text is not in its file exactly once is STALE, one that does not
# compile is BROKEN; both make the run fail, because the list no longer says what it claims.
# Every file is restored after its mutation, also on Ctrl-C. Exit status 0 when >= 95% are killed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
list=${1:-$top/scripts/mutations.txt}
only=${MUTATE_ONLY:-}
bdir=$top/build-mutate
jobs=$(nproc)
test_timeout=120

# The unit tests that can see a mutation of a file under each folder.
tests_for() {
  case "$1" in
    src/xen/*) echo xen_test xen_evtchn_test xen_hardening_test xen_iommu_test ;;
    src/xenstore/*) echo xenstore_test xenstore_hardening_test ;;
    *) return 1 ;;
  esac
}
all_tests="$(tests_for src/xen/x) $(tests_for src/xenstore/x)"

build() { cmake --build "$bdir" --parallel "$jobs" --target "$@" >/dev/null 2>&1; }
# Runs the named tests, stopping at the first that fails (or hangs past the timeout).
run_tests() {
  local t exe
  for t in "$@"; do
    exe=$(find "$bdir/src" -name "$t" -type f -executable | head -n 1)
    [ -n "$exe" ] || return 2
    timeout "$test_timeout" "$exe" --gtest_brief=1 >/dev/null 2>&1 || return 1
  done
}

# No unity build: a mutation recompiles one file. PRE_TEST discovery: a rebuild does not run every
# test binary to list its tests.
cmake -S "$top" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXKVM_UNIT_ONLY=ON \
  -DXKVM_BUILD_GUESTS=OFF -DXKVM_BUILD_BENCH=OFF -DXKVM_UNITY_BUILD=OFF \
  -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST \
  >/dev/null || exit 1
# shellcheck disable=SC2086 # word splitting of the test list is intended
build $all_tests || { echo "the unmutated unit tests do not build"; exit 1; }
# shellcheck disable=SC2086
run_tests $all_tests || { echo "the unmutated unit tests fail"; exit 1; }

saved="" saved_for=""
restore() { [ -n "$saved" ] && cp "$saved" "$saved_for" && rm -f "$saved"; saved=""; }
trap 'restore; exit 130' INT TERM

killed=0 survived=0 stale=0 broken=0 n=0 survivors=""
start=$SECONDS
while IFS=$'\t' read -r file orig mutated; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  line="$file	$orig	$mutated"
  [[ -n "$only" && ! "$line" =~ $only ]] && continue
  n=$((n + 1))
  orig=$(printf '%b' "$orig")
  mutated=$(printf '%b' "$mutated")
  path=$top/$file
  tests=$(tests_for "$file") || { echo "STALE    $file: no unit tests are known for its folder"; stale=$((stale + 1)); continue; }
  text=$(cat "$path"; printf x)
  text=${text%x}
  rest=${text#*"$orig"}
  if [[ "$rest" == "$text" || "${rest#*"$orig"}" != "$rest" ]]; then
    echo "STALE    $file: the original text is not there exactly once: ${orig%%$'\n'*}"
    stale=$((stale + 1))
    continue
  fi
  saved=$(mktemp) saved_for=$path
  cp "$path" "$saved"
  printf '%s' "${text/"$orig"/"$mutated"}" >"$path"
  t0=$SECONDS
  # shellcheck disable=SC2086
  if ! build $tests; then
    verdict=BROKEN
  elif run_tests $tests; then
    verdict=SURVIVED
  else
    verdict=KILLED
  fi
  restore
  case $verdict in
    KILLED) killed=$((killed + 1)) ;;
    SURVIVED) survived=$((survived + 1)); survivors+="  $file: ${mutated%%$'\n'*}"$'\n' ;;
    BROKEN) broken=$((broken + 1)) ;;
  esac
  printf '%-8s %3ss %s: %s\n' "$verdict" $((SECONDS - t0)) "$file" "${mutated%%$'\n'*}"
done <"$list"
# Leave the build matching the restored sources.
# shellcheck disable=SC2086
build $all_tests

applied=$((killed + survived))
echo "RESULT mutations_killed $killed of $applied ($stale stale, $broken broken, $n selected) in $((SECONDS - start)) s"
if [ "$applied" -gt 0 ]; then
  echo "RESULT mutation_kill_rate $(awk -v k="$killed" -v a="$applied" 'BEGIN { printf "%.1f", 100 * k / a }') %"
fi
if [ "$survived" -gt 0 ]; then
  echo "Survivors:"
  printf '%s' "$survivors"
fi
[ "$stale" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$applied" -gt 0 ] && [ $((100 * killed)) -ge $((95 * applied)) ]

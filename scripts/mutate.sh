#!/usr/bin/env bash
# Mutation testing by hand (not in CI): applies each one-line mutation of scripts/mutations.txt to the
# hypercall and xenstore handlers in turn, rebuilds the unit tests in build-mutate/, runs them, and
# reports which mutations the unit tests of src/xen, src/xenstore and src/vmm kill. A mutation that no longer applies is reported too.
# Every file is restored after its mutation, also on Ctrl-C.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
list=${1:-$top/scripts/mutations.txt}
bdir=$top/build-mutate
cmake -S "$top" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXKVM_UNIT_ONLY=ON >/dev/null || exit 1
cmake --build "$bdir" --parallel "$(nproc)" >/dev/null || { echo "the unmutated tree does not build"; exit 1; }
unit_tests() {
  local t
  for t in $(find "$bdir/src/xen" "$bdir/src/xenstore" "$bdir/src/vmm" -maxdepth 1 -name '*_test' -type f -executable); do
    "$t" --gtest_brief=1 >/dev/null 2>&1 || return 1
  done
}
unit_tests || { echo "the unmutated unit tests fail"; exit 1; }

saved=""
restore() { [ -n "$saved" ] && cp "$saved" "$saved_for" && rm -f "$saved"; saved=""; }
trap 'restore; exit 130' INT TERM

killed=0 survived=0 stale=0 n=0
while IFS=$'\t' read -r file orig mutated; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  n=$((n + 1))
  orig=$(printf '%b' "$orig")
  mutated=$(printf '%b' "$mutated")
  path=$top/$file
  text=$(cat "$path"; printf x)
  text=${text%x}
  rest=${text#*"$orig"}
  if [[ "$rest" == "$text" || "${rest#*"$orig"}" != "$rest" ]]; then
    echo "STALE    $file: the original text is not there exactly once"
    stale=$((stale + 1))
    continue
  fi
  saved=$(mktemp) saved_for=$path
  cp "$path" "$saved"
  printf '%s' "${text/"$orig"/"$mutated"}" >"$path"
  if ! cmake --build "$bdir" --parallel "$(nproc)" >/dev/null 2>&1; then
    verdict="KILLED   (does not build)"
  elif unit_tests; then
    verdict="SURVIVED"
  else
    verdict="KILLED  "
  fi
  restore
  [[ "$verdict" == SURVIVED ]] && survived=$((survived + 1)) || killed=$((killed + 1))
  echo "$verdict $file: ${mutated%%$'\n'*}"
done <"$list"
cmake --build "$bdir" --parallel "$(nproc)" >/dev/null 2>&1
applied=$((killed + survived))
echo "RESULT mutations_killed $killed of $applied ($stale stale, $n listed)"
[ "$applied" -gt 0 ] && echo "RESULT mutation_kill_ratio $((100 * killed / applied)) percent"
[ "$stale" -eq 0 ] && [ "$applied" -gt 0 ] && [ $((100 * killed)) -ge $((95 * applied)) ]

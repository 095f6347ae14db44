#!/usr/bin/env bash
# Reports every test CTest skipped, with the reason the test printed (its "SKIP: ..." line), from the
# JUnit files of one or more runs (ctest --output-junit). A skip is allowed only for something this machine lacks
# (see ALLOWED); any other skip, or one without a reason, fails the run. XKVM_REQUIRE_KVM=1 makes
# the tests themselves fail instead of skipping for want of KVM.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: skip-report.sh <ctest junit file>..." >&2; exit 2; }
# What a machine may really lack: KVM (for the kvm backend's own tests), a KVM able to run the
# test's code (a nested KVM emulates CPL0 code and fails on INT3 and protected-mode IRET), NUMA
# nodes, host CPUs, a passthrough device or IOMMU, a host that runs 32-bit code.
ALLOWED="kvm|/dev/kvm|this host's KVM cannot|NUMA|node|host CPUs|passthrough|IOMMU|32-bit code"

report=$(awk '
  /<testcase / { name = $0; sub(/.*<testcase name="/, "", name); sub(/".*/, "", name); sub(/  #.*/, "", name)
                 skipped = ($0 ~ /status="notrun"/) || ($0 ~ /status="disabled"/); reason = "" }
  skipped && reason == "" && /SKIP: / { reason = $0; sub(/.*SKIP: /, "", reason) }
  skipped && /<\/testcase>/ { if (reason == "") reason = "(no reason printed)"; print name "\t" reason; skipped = 0 }
' "$@")

if [ -z "$report" ]; then
  echo "skips: none"
  exit 0
fi
count=$(printf '%s\n' "$report" | wc -l)
echo "skips: $count"
printf '%s\n' "$report" | cut -f2 | sort | uniq -c | sed 's/^/  /'
bad=$(printf '%s\n' "$report" | awk -F'\t' -v ok="$ALLOWED" '$2 !~ ok')
if [ -n "$bad" ]; then
  echo "skips for a reason this machine does not lack (fix the test or the machine):"
  printf '%s\n' "$bad" | sed 's/^/  /'
  exit 1
fi

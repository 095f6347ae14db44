#!/usr/bin/env bash
# Sets up, builds, and boots the bundled demo guest: it talks to the hypervisor through the Xen ABI,
# prints what it found on its console, and powers off.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/build.sh"
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
  echo "demo: /dev/kvm is missing or not accessible to $(id -un); xkvm needs KVM" >&2
  exit 1
fi
export XKVM_RUNDIR="${XKVM_RUNDIR:-$top/build/run}"
exec "$top/build/src/vmm/xkvm-vmm" --name demo --kernel "$top/build/guests/demo.elf" --memory 64 --console

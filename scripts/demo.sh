#!/usr/bin/env bash
# Sets up, builds, and boots the bundled demo guest: it talks to the hypervisor through the Xen ABI,
# prints what it found on its console, and powers off. It runs on KVM where /dev/kvm works and on the
# emulated CPU elsewhere (XKVM_ACCEL=kvm|emu forces one).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/build.sh"
export XKVM_RUNDIR="${XKVM_RUNDIR:-$top/build/run}"
exec "$top/build/src/vmm/xkvm-vmm" --name demo --kernel "$top/build/guests/demo.elf" --memory 64 --console

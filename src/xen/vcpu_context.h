// VCPUOP_initialise's HVM form: check a guest-supplied vcpu_hvm_context and turn it into the
// architectural state the vCPU starts from.
#pragma once

#include "base/result.h"
#include "memory/physmap.h"
#include "x86/cpu_state.h"
#include "xen/abi/vcpu.h"

namespace xkvm::xen {

Result<x86::CpuState> cpu_state_from_hvm_context(const vcpu_hvm_context& ctx, const memory::Physmap& mem);

} // namespace xkvm::xen

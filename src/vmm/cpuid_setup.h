// The CPUID a vCPU sees: the backend's supported set, minus any hypervisor leaves it has (KVM's own),
// plus Xen's, with the vCPU's APIC id and the toolstack's cpuid= overrides applied last.
#pragma once

#include "hv/cpuid_table.h"
#include "vmm/vm_spec.h"

namespace xkvm::vmm {

hv::CpuidTable build_cpuid(const hv::CpuidTable& supported, const VmSpec& spec, uint32_t vcpu_id, uint32_t tsc_khz);

// Xen CPUID leaf 2 EDX as the cpuid= policy asks for it (before the design thread's dependency rule).
uint32_t requested_pv_features(const VmSpec& spec);

// Apply cpuid= overrides to one table (exposed for tests).
void apply_cpuid_overrides(hv::CpuidTable& table, const std::vector<CpuidOverride>& overrides);

} // namespace xkvm::vmm

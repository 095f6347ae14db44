// cpuid= (config::CpuidPolicy, per-register set/clear/host masks) as the VMM's CPUID overrides.
#pragma once

#include <string>
#include <vector>

#include "config/cpuid_spec.h"
#include "vmm/vm_spec.h"

namespace xkvm::plan {

struct CpuidPlan {
    std::vector<vmm::CpuidOverride> overrides; // in the policy's order (leaf, subleaf, register)
    std::vector<std::string> warnings;
};

// '1' bits go to `set`, '0' bits to `clear`; 'x', 'k' and 's' bits are left as the VMM computes them.
// Registers with nothing forced produce no override. Overrides of Xen's own leaves other than
// 0x40000002 EDX are dropped with a warning (the VMM generates those leaves itself).
CpuidPlan plan_cpuid(const config::CpuidPolicy& policy);

} // namespace xkvm::plan

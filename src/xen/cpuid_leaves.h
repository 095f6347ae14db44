// Xen's CPUID leaves at 0x40000000, per vCPU. They replace the hypervisor leaves KVM offers.
#pragma once

#include <cstdint>
#include <vector>

#include "xen/abi/xen.h"

namespace xkvm::xen {

struct CpuidLeaf {
    uint32_t leaf = 0;
    uint32_t subleaf = 0;
    bool significant_subleaf = false;
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

struct XenCpuidOptions {
    domid_t domid = 0;
    uint32_t vcpu_id = 0;
    uint32_t tsc_khz = 0;          // guest TSC frequency
    bool tsc_reliable = false;     // invariant TSC on the host
    uint32_t tsc_to_ns_mul = 0;    // pvclock scale for leaf 3 sub-leaf 1
    int8_t tsc_to_ns_shift = 0;
    uint32_t pv_features_edx = 0;  // leaf 2 EDX as the toolstack's cpuid= policy sets it
    bool iommu_mappings = false;   // leaf 4: the domain's DMA space maps what its physmap maps
};

// Leaves 0x40000000..0x40000005 with the values Xen gives an HVM guest.
std::vector<CpuidLeaf> xen_cpuid_leaves(const XenCpuidOptions& opts);

// Leaf 2 EDX after the design thread's rule: the event-channel bit needs the clocksource bit.
uint32_t effective_pv_features(uint32_t requested_edx);

} // namespace xkvm::xen

// Leaf 4's XEN_HVM_CPUID_IOMMU_MAPPINGS (issue 9): announced only for a domain whose DMA space the
// VMM keeps in step with its physmap.
#include <gtest/gtest.h>

#include "xen/abi/cpuid.h"
#include "xen/cpuid_leaves.h"

namespace xkvm::xen {
namespace {

uint32_t leaf4_eax(const std::vector<CpuidLeaf>& leaves)
{
    for (const auto& l : leaves)
        if (l.leaf == XEN_CPUID_LEAF(4) && l.subleaf == 0)
            return l.eax;
    ADD_FAILURE() << "no leaf 4";
    return 0;
}

// Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (XEN_HVM_CPUID_IOMMU_MAPPINGS,
// public/arch-x86/cpuid.h).
TEST(XenCpuidIommu, MappingsBitFollowsTheOption)
{
    static_assert(XEN_HVM_CPUID_IOMMU_MAPPINGS == (1u << 2)); // arch-x86/cpuid.h
    EXPECT_FALSE(leaf4_eax(xen_cpuid_leaves({})) & XEN_HVM_CPUID_IOMMU_MAPPINGS);
    uint32_t eax = leaf4_eax(xen_cpuid_leaves({ .iommu_mappings = true }));
    EXPECT_TRUE(eax & XEN_HVM_CPUID_IOMMU_MAPPINGS);
    EXPECT_TRUE(eax & XEN_HVM_CPUID_VCPU_ID_PRESENT); // the others stay
}

} // namespace
} // namespace xkvm::xen

#include <cstring>
#include <gtest/gtest.h>

#include "xen/abi/cpuid.h"
#include "xen/cpuid_leaves.h"

using namespace xkvm::xen;

namespace {
const CpuidLeaf& find(const std::vector<CpuidLeaf>& v, uint32_t leaf, uint32_t sub = 0)
{
    for (const auto& l : v)
        if (l.leaf == leaf && l.subleaf == sub)
            return l;
    ADD_FAILURE() << "leaf " << std::hex << leaf << " missing";
    static CpuidLeaf none;
    return none;
}
} // namespace

// Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (leaves 0-2, public/arch-x86/cpuid.h).
TEST(XenCpuid, SignatureVersionAndHypercallMsr)
{
    auto leaves = xen_cpuid_leaves({ .domid = 3, .vcpu_id = 2 });
    const auto& l0 = find(leaves, 0x40000000);
    EXPECT_EQ(l0.eax, 0x40000005u);
    char sig[13] = {};
    std::memcpy(sig, &l0.ebx, 4);
    std::memcpy(sig + 4, &l0.ecx, 4);
    std::memcpy(sig + 8, &l0.edx, 4);
    EXPECT_STREQ(sig, "XenVMMXenVMM");
    EXPECT_EQ(find(leaves, 0x40000001).eax, (4u << 16) | 19u);
    EXPECT_EQ(find(leaves, 0x40000002).eax, 1u);
    EXPECT_EQ(find(leaves, 0x40000002).ebx, 0x40000000u);
    const auto& l4 = find(leaves, 0x40000004);
    EXPECT_TRUE(l4.eax & XEN_HVM_CPUID_VCPU_ID_PRESENT);
    EXPECT_TRUE(l4.eax & XEN_HVM_CPUID_DOMID_PRESENT);
    EXPECT_TRUE(l4.eax & XEN_HVM_CPUID_UPCALL_VECTOR);
    EXPECT_EQ(l4.ebx, 2u);
    EXPECT_EQ(l4.ecx, 3u);
}

// Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (leaf 2 EDX is 0 on Xen 4.19); the bits
// are the design thread's: DIFF emul_pin_virqs.
TEST(XenCpuid, PvEvtchnBitNeedsPvClockBit)
{
    EXPECT_EQ(effective_pv_features(0x7), 0x7u);
    EXPECT_EQ(effective_pv_features(0x5), 0x1u);
    EXPECT_EQ(effective_pv_features(0x3), 0x3u);
    EXPECT_EQ(effective_pv_features(0xffffffff), 0x7u);
    auto leaves = xen_cpuid_leaves({ .pv_features_edx = 0x5 });
    EXPECT_EQ(find(leaves, 0x40000002).edx, 0x1u);
}

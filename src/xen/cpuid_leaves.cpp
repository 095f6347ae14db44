#include "xen/cpuid_leaves.h"

#include "xen/abi/cpuid.h"
#include "xen/version_info.h"

namespace xkvm::xen {

uint32_t effective_pv_features(uint32_t edx)
{
    edx &= XEN_CPUID_FEAT2_HVM_PV | XEN_CPUID_FEAT2_HVM_PV_CLOCK | XEN_CPUID_FEAT2_HVM_PV_EVTCHN;
    if (!(edx & XEN_CPUID_FEAT2_HVM_PV_CLOCK))
        edx &= ~XEN_CPUID_FEAT2_HVM_PV_EVTCHN;
    return edx;
}

std::vector<CpuidLeaf> xen_cpuid_leaves(const XenCpuidOptions& o)
{
    std::vector<CpuidLeaf> leaves;
    auto add = [&](uint32_t i, uint32_t sub, bool sig, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
        leaves.push_back({ XEN_CPUID_LEAF(i), sub, sig, a, b, c, d });
    };
    add(0, 0, false, XEN_CPUID_LEAF(XEN_CPUID_MAX_NUM_LEAVES), XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX,
        XEN_CPUID_SIGNATURE_EDX);
    add(1, 0, false, (kXenMajor << 16) | kXenMinor, 0, 0, 0);
    add(2, 0, false, 1, XEN_HYPERCALL_MSR, 0, effective_pv_features(o.pv_features_edx));
    uint32_t tsc_flags = o.tsc_reliable ? XEN_CPUID_HOST_TSC_RELIABLE : 0;
    add(3, 0, true, tsc_flags, XEN_CPUID_TSC_MODE_DEFAULT, o.tsc_khz, 0);
    add(3, 1, true, 0, 0, o.tsc_to_ns_mul, static_cast<uint8_t>(o.tsc_to_ns_shift));
    add(3, 2, true, o.tsc_khz, 0, 0, 0);
    add(4, 0, true,
        XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT | XEN_HVM_CPUID_UPCALL_VECTOR
            | (o.iommu_mappings ? XEN_HVM_CPUID_IOMMU_MAPPINGS : 0),
        o.vcpu_id, o.domid, 0);
    add(5, 0, true, 0, 0, 0, 0); // PV-only parameters: empty for HVM
    return leaves;
}

} // namespace xkvm::xen

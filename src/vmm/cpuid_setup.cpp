#include "vmm/cpuid_setup.h"

#include "xen/abi/cpuid.h"
#include "xen/cpuid_leaves.h"

namespace xkvm::vmm {

namespace {

uint32_t& reg_of(hv::CpuidEntry& e, uint8_t reg)
{
    switch (reg) {
    case 0: return e.regs.eax;
    case 1: return e.regs.ebx;
    case 2: return e.regs.ecx;
    default: return e.regs.edx;
    }
}

constexpr uint32_t kHypervisorBit = 1u << 31; // leaf 1 ECX

} // namespace

void apply_cpuid_overrides(hv::CpuidTable& table, const std::vector<CpuidOverride>& overrides)
{
    for (const auto& o : overrides) {
        uint32_t sub = o.subleaf.value_or(0);
        hv::CpuidEntry* e = table.find(o.leaf, sub);
        if (!e) {
            table.set(o.leaf, sub, {}, o.subleaf.has_value());
            e = table.find(o.leaf, sub);
        }
        uint32_t& r = reg_of(*e, o.reg);
        r = (r | o.set) & ~o.clear;
    }
}

uint32_t requested_pv_features(const VmSpec& spec)
{
    // The seed's PV-extension bits live in Xen leaf 2 EDX; cpuid= sets them with leaf 0x40000002.
    uint32_t edx = 0;
    for (const auto& o : spec.cpuid)
        if (o.leaf == XEN_CPUID_LEAF(2) && o.reg == 3)
            edx = (edx | o.set) & ~o.clear;
    return edx;
}

hv::CpuidTable build_cpuid(const hv::CpuidTable& supported, const VmSpec& spec, uint32_t vcpu_id, uint32_t tsc_khz)
{
    hv::CpuidTable table = supported;
    // A backend's own leaves (KVM's KVMKVMKVM) would shadow Xen's: a second entry for a leaf is ignored.
    table.remove_range(0x40000000, 0x4fffffff);

    if (auto* l1 = table.find(1)) {
        l1->regs.ebx = (l1->regs.ebx & 0x00ffffff) | (vcpu_id << 24);
        l1->regs.ecx |= kHypervisorBit;
    }
    for (auto& e : table.entries())
        if (e.function == 0xb || e.function == 0x1f)
            e.regs.edx = vcpu_id;

    uint32_t pv_edx = requested_pv_features(spec);

    xen::XenCpuidOptions opts;
    opts.domid = spec.domid;
    opts.vcpu_id = vcpu_id;
    opts.tsc_khz = tsc_khz;
    opts.pv_features_edx = pv_edx;
    opts.iommu_mappings = true; // every domain's DMA space follows its physmap (iommu::PhysmapMirror)
    for (const auto& l : xen::xen_cpuid_leaves(opts))
        table.set(l.leaf, l.subleaf, { l.eax, l.ebx, l.ecx, l.edx }, l.significant_subleaf);

    // Overrides of the Xen leaves were folded in above (with the design thread's dependency rule);
    // everything else is applied as given.
    std::vector<CpuidOverride> rest;
    for (const auto& o : spec.cpuid)
        if (o.leaf < XEN_CPUID_FIRST_LEAF || o.leaf > XEN_CPUID_LEAF(0xff))
            rest.push_back(o);
    apply_cpuid_overrides(table, rest);
    return table;
}

} // namespace xkvm::vmm

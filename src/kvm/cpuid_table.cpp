#include "kvm/cpuid_table.h"

#include <algorithm>

namespace xkvm::kvm {

namespace {
bool matches(const kvm_cpuid_entry2& e, uint32_t function, uint32_t index)
{
    if (e.function != function)
        return false;
    return !(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index == index;
}
} // namespace

kvm_cpuid_entry2* CpuidTable::find(uint32_t function, uint32_t index)
{
    auto it = std::find_if(m_entries.begin(), m_entries.end(),
                           [&](const kvm_cpuid_entry2& e) { return matches(e, function, index); });
    return it == m_entries.end() ? nullptr : &*it;
}

std::optional<CpuidRegs> CpuidTable::get(uint32_t function, uint32_t index) const
{
    for (const auto& e : m_entries)
        if (matches(e, function, index))
            return CpuidRegs { e.eax, e.ebx, e.ecx, e.edx };
    return std::nullopt;
}

void CpuidTable::set(uint32_t function, uint32_t index, const CpuidRegs& regs, bool significant_index)
{
    kvm_cpuid_entry2* e = find(function, index);
    if (!e) {
        m_entries.push_back(kvm_cpuid_entry2 {});
        e = &m_entries.back();
        e->function = function;
        e->index = index;
        e->flags = significant_index ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
    }
    e->eax = regs.eax;
    e->ebx = regs.ebx;
    e->ecx = regs.ecx;
    e->edx = regs.edx;
}

void CpuidTable::remove_range(uint32_t first, uint32_t last)
{
    std::erase_if(m_entries, [&](const kvm_cpuid_entry2& e) { return e.function >= first && e.function <= last; });
}

} // namespace xkvm::kvm

#include "hv/cpuid_table.h"

#include <algorithm>

namespace xkvm::hv {

namespace {
bool matches(const CpuidEntry& e, uint32_t function, uint32_t index)
{
    return e.function == function && (!e.significant_index || e.index == index);
}
} // namespace

CpuidEntry* CpuidTable::find(uint32_t function, uint32_t index)
{
    auto it = std::find_if(m_entries.begin(), m_entries.end(),
                           [&](const CpuidEntry& e) { return matches(e, function, index); });
    return it == m_entries.end() ? nullptr : &*it;
}

std::optional<CpuidRegs> CpuidTable::get(uint32_t function, uint32_t index) const
{
    for (const auto& e : m_entries)
        if (matches(e, function, index))
            return e.regs;
    return std::nullopt;
}

void CpuidTable::set(uint32_t function, uint32_t index, const CpuidRegs& regs, bool significant_index)
{
    CpuidEntry* e = find(function, index);
    if (!e) {
        m_entries.push_back(CpuidEntry { function, index, significant_index, {} });
        e = &m_entries.back();
    }
    e->regs = regs;
}

void CpuidTable::remove_range(uint32_t first, uint32_t last)
{
    std::erase_if(m_entries, [&](const CpuidEntry& e) { return e.function >= first && e.function <= last; });
}

CpuidRegs CpuidTable::lookup(uint32_t function, uint32_t index) const
{
    if (auto r = get(function, index))
        return *r;
    // Hypervisor leaves (0x4000xxxx) that are absent read as zero; other out-of-range leaves answer
    // as the highest basic leaf.
    if (function >= 0x40000000 && function < 0x80000000)
        return {};
    uint32_t max_basic = get(0, 0).value_or(CpuidRegs {}).eax;
    uint32_t max_ext = get(0x80000000, 0).value_or(CpuidRegs {}).eax;
    bool out_of_range = function < 0x80000000 ? function > max_basic : function > max_ext;
    if (out_of_range)
        return get(max_basic, index).value_or(CpuidRegs {});
    return {};
}

} // namespace xkvm::hv

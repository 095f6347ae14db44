// A CPUID table as KVM takes it (KVM_SET_CPUID2): find, replace and drop leaves.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <optional>
#include <vector>

namespace xkvm::kvm {

struct CpuidRegs {
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

class CpuidTable {
public:
    CpuidTable() = default;
    explicit CpuidTable(std::vector<kvm_cpuid_entry2> entries) : m_entries(std::move(entries)) { }

    const std::vector<kvm_cpuid_entry2>& entries() const { return m_entries; }

    // The entry for (function, index); index is ignored for leaves that do not use it.
    kvm_cpuid_entry2* find(uint32_t function, uint32_t index = 0);
    std::optional<CpuidRegs> get(uint32_t function, uint32_t index = 0) const;
    // Insert or overwrite. A leaf with `significant_index` distinguishes sub-leaves.
    void set(uint32_t function, uint32_t index, const CpuidRegs& regs, bool significant_index = false);
    // Remove every leaf in [first, last].
    void remove_range(uint32_t first, uint32_t last);

private:
    std::vector<kvm_cpuid_entry2> m_entries;
};

} // namespace xkvm::kvm

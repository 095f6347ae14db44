// A guest CPUID table: the leaves a backend offers, edited by the VMM, handed to each vCPU.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace xkvm::hv {

struct CpuidRegs {
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

struct CpuidEntry {
    uint32_t function = 0;
    uint32_t index = 0;
    bool significant_index = false; // sub-leaves differ by ECX
    CpuidRegs regs;
};

class CpuidTable {
public:
    CpuidTable() = default;
    explicit CpuidTable(std::vector<CpuidEntry> entries) : m_entries(std::move(entries)) { }

    const std::vector<CpuidEntry>& entries() const { return m_entries; }
    std::vector<CpuidEntry>& entries() { return m_entries; }

    // The entry for (function, index); index is ignored for leaves that do not use it.
    CpuidEntry* find(uint32_t function, uint32_t index = 0);
    std::optional<CpuidRegs> get(uint32_t function, uint32_t index = 0) const;
    // Insert or overwrite.
    void set(uint32_t function, uint32_t index, const CpuidRegs& regs, bool significant_index = false);
    // Remove every leaf in [first, last].
    void remove_range(uint32_t first, uint32_t last);
    // What CPUID returns for (function, index) on a CPU with this table: a leaf past the highest
    // basic (or extended) one answers as the highest basic leaf does, as Intel CPUs do.
    CpuidRegs lookup(uint32_t function, uint32_t index) const;

private:
    std::vector<CpuidEntry> m_entries;
};

} // namespace xkvm::hv

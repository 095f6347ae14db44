// cpuid= in both of xl's forms, reduced to per-register bit masks the Xen layer can apply.
//
//   xend form (a list):   cpuid = [ "leaf[,subleaf]:reg=VALUE[,reg=VALUE...]", ... ]
//       leaf/subleaf decimal or 0x-hex; reg eax|ebx|ecx|edx; VALUE is 0x-hex (every bit forced)
//       or 32 characters of 0/1/x/k/s, most significant bit first.
//   libxl form (a string): cpuid = "host,NAME=VALUE,..."  with NAME a feature flag (VALUE one
//       of 0/1/x/k/s) or a numeric field (family, model, stepping, ...; VALUE a number or x/k/s).
//
//   '1' force to 1, '0' force to 0, 'x' default (safe) policy value, 'k' host value, 's' = 'k'.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace xkvm::config {

enum class CpuidReg : uint8_t { Eax, Ebx, Ecx, Edx };

struct CpuidRegPolicy {
    uint32_t leaf = 0;
    std::optional<uint32_t> subleaf;
    CpuidReg reg = CpuidReg::Eax;
    uint32_t set_mask = 0;   // bits forced to 1
    uint32_t clear_mask = 0; // bits forced to 0
    uint32_t host_mask = 0;  // bits taken from the host ('k'; 's' is read as 'k')
    // Bits in none of the masks ('x') keep the default policy's value. The masks never overlap.
    bool operator==(const CpuidRegPolicy&) const = default;
};

// Sorted by (leaf, subleaf — none first —, reg), at most one entry per register.
using CpuidPolicy = std::vector<CpuidRegPolicy>;

std::string_view reg_name(CpuidReg reg);
std::optional<CpuidReg> reg_from_name(std::string_view name);

// 32 characters of 0/1/x/k, most significant bit first (the libxl JSON form).
std::string cpuid_bits_string(const CpuidRegPolicy& p);
// Sets p's masks from 32 characters of 0/1/x/k/s.
Result<void, SpecError> set_cpuid_bits(CpuidRegPolicy& p, std::string_view bits);

// Finds or inserts (in sorted position) the entry for one register; masks of a new entry are empty.
CpuidRegPolicy& cpuid_entry(CpuidPolicy& policy, uint32_t leaf, std::optional<uint32_t> subleaf, CpuidReg reg);

// One xend-form entry; each register it names replaces any earlier setting of that register.
Result<void, SpecError> apply_cpuid_xend(std::string_view entry, CpuidPolicy& policy);

// A whole libxl-form string; each NAME changes only its own bits.
Result<void, SpecError> apply_cpuid_libxl(std::string_view s, CpuidPolicy& policy);

// ---- libxl feature names (cpuid_names.cpp) ----

inline constexpr uint32_t kNoSubleaf = UINT32_MAX;

struct CpuidFlag {
    const char* name;
    uint32_t leaf;
    uint32_t subleaf; // kNoSubleaf when the leaf has none
    CpuidReg reg;
    uint8_t bit;
    uint8_t length; // 1 for a feature flag; more for a numeric field
};

const CpuidFlag* find_cpuid_flag(std::string_view name);

} // namespace xkvm::config

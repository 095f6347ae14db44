// Fixed places in a guest's physical address space that belong to the VMM rather than to RAM.
#pragma once

#include <cstdint>

#include "memory/memory_map.h"

namespace xkvm::vmm {

// Where RAM below 4 GiB ends by default; the MMIO hole follows (Xen's hvmloader default).
inline constexpr uint64_t kDefaultLowRamCeiling = 0xf0000000;
// Pages the toolstack provides (xenstore ring, console ring), as Xen keeps them just below the
// 4 GiB boundary in a reserved area the guest must not use as RAM.
// RAM that does not fit below the MMIO hole continues here.
inline constexpr uint64_t kHighRamBase = 4ull << 30;
inline constexpr uint64_t kSpecialPagesGpa = 0xfeff0000;
inline constexpr uint64_t kSpecialPagesCount = 16;
inline constexpr uint64_t kStorePageIndex = 0;
inline constexpr uint64_t kConsolePageIndex = 1;
// KVM's real-mode helper pages on Intel (must not be RAM).
inline constexpr uint64_t kKvmTssGpa = 0xfffbd000;
inline constexpr uint64_t kKvmIdentityMapGpa = 0xfffbc000;
// Where the LAPICs and IOAPIC live.
inline constexpr uint64_t kLapicGpa = 0xfee00000;
inline constexpr uint64_t kIoapicGpa = 0xfec00000;

inline constexpr uint64_t special_page_gfn(uint64_t index)
{
    return (kSpecialPagesGpa >> memory::kPageShift) + index;
}

} // namespace xkvm::vmm

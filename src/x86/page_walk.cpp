#include "x86/page_walk.h"

namespace xkvm::x86 {

namespace {

constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kUser = 1ull << 2;
constexpr uint64_t kLarge = 1ull << 7;
constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;

struct Walk {
    const memory::Physmap& mem;
    const PagingMode& mode;
    Access access;
    uint64_t linear;
    bool writable = true;
    bool user = true;

    Status check(uint64_t entry, int level)
    {
        if (!(entry & kPresent))
            return fail(EFAULT, "linear {:#x}: not present at level {}", linear, level);
        writable &= (entry & kWritable) != 0;
        user &= (entry & kUser) != 0;
        return {};
    }

    Result<memory::Gpa> finish(uint64_t frame, uint64_t offset_mask)
    {
        if (access.user && !user)
            return fail(EFAULT, "linear {:#x}: supervisor page", linear);
        // Supervisor writes to read-only pages fault only with CR0.WP; user writes always do.
        if (access.write && !writable && (access.user || (mode.cr0 & kCr0Wp)))
            return fail(EFAULT, "linear {:#x}: read-only page", linear);
        return frame | (linear & offset_mask);
    }
};

Result<memory::Gpa> walk_32bit(Walk& w)
{
    uint32_t la = static_cast<uint32_t>(w.linear);
    uint64_t pde_addr = (w.mode.cr3 & 0xfffff000ull) + ((la >> 22) & 0x3ff) * 4;
    uint64_t pde = TRY(w.mem.read_obj<uint32_t>(pde_addr));
    TRY(w.check(pde, 2));
    if ((pde & kLarge) && (w.mode.cr4 & kCr4Pse)) {
        // PSE-36: bits 20:13 give physical address bits 39:32.
        uint64_t frame = (pde & 0xffc00000ull) | ((pde & 0x1fe000ull) << 19);
        return w.finish(frame, 0x3fffff);
    }
    uint64_t pte_addr = (pde & 0xfffff000ull) + ((la >> 12) & 0x3ff) * 4;
    uint64_t pte = TRY(w.mem.read_obj<uint32_t>(pte_addr));
    TRY(w.check(pte, 1));
    return w.finish(pte & 0xfffff000ull, 0xfff);
}

// PAE and long mode share the 8-byte entry format; `levels` is 3, 4 or 5.
Result<memory::Gpa> walk_long(Walk& w, int levels)
{
    uint64_t table;
    int level = levels;
    if (levels == 3) {
        uint64_t pdpte_addr = (w.mode.cr3 & 0xffffffe0ull) + ((w.linear >> 30) & 3) * 8;
        uint64_t pdpte = TRY(w.mem.read_obj<uint64_t>(pdpte_addr));
        if (!(pdpte & kPresent))
            return fail(EFAULT, "linear {:#x}: PDPTE not present", w.linear);
        table = pdpte & kAddrMask;
        level = 2;
    } else {
        table = w.mode.cr3 & kAddrMask;
    }
    for (; level >= 1; --level) {
        unsigned shift = 12 + 9 * (level - 1);
        uint64_t entry = TRY(w.mem.read_obj<uint64_t>(table + ((w.linear >> shift) & 0x1ff) * 8));
        TRY(w.check(entry, level));
        if (level <= 3 && level >= 2 && (entry & kLarge)) {
            uint64_t page_mask = (1ull << shift) - 1;
            return w.finish(entry & kAddrMask & ~page_mask, page_mask);
        }
        table = entry & kAddrMask;
    }
    return w.finish(table, 0xfff);
}

} // namespace

Result<memory::Gpa> translate(const memory::Physmap& mem, const PagingMode& mode, uint64_t linear, Access access)
{
    if (!mode.paging())
        return mode.long_mode() ? linear : (linear & 0xffffffffull);
    Walk w { mem, mode, access, linear };
    if (mode.long_mode()) {
        int levels = (mode.cr4 & kCr4La57) ? 5 : 4;
        unsigned bits = levels == 5 ? 57 : 48;
        // Non-canonical addresses fault (#GP on hardware).
        int64_t sign_extended = static_cast<int64_t>(linear << (64 - bits)) >> (64 - bits);
        if (static_cast<uint64_t>(sign_extended) != linear)
            return fail(EFAULT, "linear {:#x} is not canonical", linear);
        return walk_long(w, levels);
    }
    w.linear = linear & 0xffffffffull;
    if (mode.cr4 & kCr4Pae)
        return walk_long(w, 3);
    return walk_32bit(w);
}

} // namespace xkvm::x86

#include "x86/guest_virtual.h"

namespace xkvm::x86 {

template<typename Fn>
Status GuestVirtual::each_page(uint64_t va, uint64_t len, bool write, Fn&& fn) const
{
    // Outside long mode linear addresses are 32 bits and wrap; in long mode a wrap is a fault.
    if (m_mode.long_mode() ? memory::range_wraps(va, len) : (va > 0xffffffffull || len > 0x100000000ull - va))
        return fail(EFAULT, "guest buffer {:#x}+{:#x} wraps", va, len);
    Access access { write, m_mode.cpl == 3 };
    uint64_t done = 0;
    while (done < len) {
        uint64_t cur = va + done;
        uint64_t chunk = std::min(len - done, memory::kPageSize - (cur & (memory::kPageSize - 1)));
        memory::Gpa gpa = TRY(translate(m_mem, m_mode, cur, access));
        TRY(fn(gpa, done, chunk));
        done += chunk;
    }
    return {};
}

Status GuestVirtual::read(uint64_t va, std::span<uint8_t> out) const
{
    return each_page(va, out.size(), false, [&](memory::Gpa gpa, uint64_t done, uint64_t n) {
        return m_mem.read(gpa, out.subspan(done, n));
    });
}

Status GuestVirtual::write(uint64_t va, std::span<const uint8_t> in) const
{
    return each_page(va, in.size(), true, [&](memory::Gpa gpa, uint64_t done, uint64_t n) {
        return m_mem.write(gpa, in.subspan(done, n));
    });
}

} // namespace xkvm::x86

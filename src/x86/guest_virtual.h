// Copy to and from guest-virtual addresses through the guest's page tables, page by page, with the
// privilege the guest code had. The one accessor hypercall handlers use for guest pointers.
#pragma once

#include <cstring>
#include <span>
#include <type_traits>

#include "x86/page_walk.h"

namespace xkvm::x86 {

class GuestVirtual {
public:
    GuestVirtual(memory::Physmap& mem, const PagingMode& mode) : m_mem(mem), m_mode(mode) { }

    Status read(uint64_t va, std::span<uint8_t> out) const;
    Status write(uint64_t va, std::span<const uint8_t> in) const;

    template<typename T>
        requires std::is_trivially_copyable_v<T>
    Result<T> read_obj(uint64_t va) const
    {
        T v;
        TRY(read(va, std::span(reinterpret_cast<uint8_t*>(&v), sizeof(T))));
        return v;
    }
    template<typename T>
        requires std::is_trivially_copyable_v<T>
    Status write_obj(uint64_t va, const T& v) const
    {
        return write(va, std::span(reinterpret_cast<const uint8_t*>(&v), sizeof(T)));
    }

    const PagingMode& mode() const { return m_mode; }
    memory::Physmap& physmap() const { return m_mem; }

private:
    template<typename Fn>
    Status each_page(uint64_t va, uint64_t len, bool write, Fn&& fn) const;

    memory::Physmap& m_mem;
    PagingMode m_mode;
};

} // namespace xkvm::x86

// The double shifts and the bit instructions, and the explicit instantiations of the inline
// functions in alu_inline.h (so that code built without inlining still links).
#include "emu/cpu/alu.h"

#include <bit>

namespace xkvm::emu::alu {

using detail::kBits;
using detail::kOfShift;
using detail::msb;
using detail::set_flags;
using detail::szp_flags;

namespace {

// Below 64 bits the pair dst:src repeated fills a uint64_t; a count of up to 31 then never runs
// out of bits, which is also what gives 16-bit counts above 16 a deterministic result.
template<typename T> uint64_t repeated_pair(T high, T low)
{
    uint64_t v = uint64_t(high) << kBits<T> | low;
    for (unsigned width = 2 * kBits<T>; width < 64; width *= 2)
        v |= v << width;
    return v;
}

template<typename T> T double_shift_flags(T dst, T r, uint64_t cf, uint64_t& rflags)
{
    // OF: the sign changed (defined for a count of 1; the same formula for the others).
    const uint64_t of = msb(r) ^ msb(dst);
    rflags = set_flags(rflags, kArithFlags, cf | szp_flags(r) | of << kOfShift);
    return r;
}

constexpr unsigned double_shift_mask(unsigned bits) { return bits == 64 ? 0x3f : 0x1f; }

} // namespace

template<typename T> T shld(T dst, T src, uint8_t count, uint64_t& rflags)
{
    const unsigned c = count & double_shift_mask(kBits<T>);
    if (c == 0)
        return dst;
    if constexpr (kBits<T> == 64) {
        const T r = dst << c | src >> (64 - c);
        return double_shift_flags(dst, r, (dst >> (64 - c)) & 1, rflags);
    } else {
        const uint64_t v = repeated_pair(dst, src);
        const T r = T((v << c) >> (64 - kBits<T>));
        return double_shift_flags(dst, r, (v >> (64 - c)) & 1, rflags);
    }
}

template<typename T> T shrd(T dst, T src, uint8_t count, uint64_t& rflags)
{
    const unsigned c = count & double_shift_mask(kBits<T>);
    if (c == 0)
        return dst;
    if constexpr (kBits<T> == 64) {
        const T r = dst >> c | src << (64 - c);
        return double_shift_flags(dst, r, (dst >> (c - 1)) & 1, rflags);
    } else {
        const uint64_t v = repeated_pair(src, dst);
        return double_shift_flags(dst, T(v >> c), (v >> (c - 1)) & 1, rflags);
    }
}

template<typename T> T bit_test(BitOp op, T value, unsigned bit, uint64_t& rflags)
{
    const T mask = T(T(1) << (bit & (kBits<T> - 1)));
    rflags = set_flags(rflags, kCf, (value & mask) ? kCf : 0);
    switch (op) {
    case BitOp::Bts: return T(value | mask);
    case BitOp::Btr: return T(value & T(~mask));
    case BitOp::Btc: return T(value ^ mask);
    default: return value;
    }
}

template<typename T> T bsf(T src, T old_dst, uint64_t& rflags)
{
    rflags = set_flags(rflags, kZf, src == 0 ? kZf : 0);
    return src == 0 ? old_dst : T(std::countr_zero(src));
}

template<typename T> T bsr(T src, T old_dst, uint64_t& rflags)
{
    rflags = set_flags(rflags, kZf, src == 0 ? kZf : 0);
    return src == 0 ? old_dst : T(kBits<T> - 1 - std::countl_zero(src));
}

template<typename T> T popcnt(T src, uint64_t& rflags)
{
    rflags = set_flags(rflags, kArithFlags, src == 0 ? kZf : 0);
    return T(std::popcount(src));
}

template<typename T> T lzcnt(T src, uint64_t& rflags)
{
    const T r = T(std::countl_zero(src));
    rflags = set_flags(rflags, kCf | kZf, (src == 0 ? kCf : 0) | (r == 0 ? kZf : 0));
    return r;
}

template<typename T> T tzcnt(T src, uint64_t& rflags)
{
    const T r = T(std::countr_zero(src));
    rflags = set_flags(rflags, kCf | kZf, (src == 0 ? kCf : 0) | (r == 0 ? kZf : 0));
    return r;
}

template<typename T> T bswap(T v)
{
    // BSWAP with a 16-bit operand is undefined; hardware clears the register (the differential
    // test checks this on the host).
    if constexpr (kBits<T> == 16) {
        return 0;
    } else {
        T r = 0;
        for (unsigned i = 0; i < sizeof(T); ++i)
            r = T(r << 8 | ((v >> (8 * i)) & 0xff));
        return r;
    }
}

#define XKVM_ALU_INSTANTIATE(T)                                             \
    template T binop<T>(BinOp, T, T, uint64_t&);                            \
    template T inc<T>(T, uint64_t&);                                        \
    template T dec<T>(T, uint64_t&);                                        \
    template T neg<T>(T, uint64_t&);                                        \
    template T shift<T>(ShiftOp, T, uint8_t, uint64_t&);                    \
    template T shld<T>(T, T, uint8_t, uint64_t&);                           \
    template T shrd<T>(T, T, uint8_t, uint64_t&);                           \
    template T bit_test<T>(BitOp, T, unsigned, uint64_t&);                  \
    template T bsf<T>(T, T, uint64_t&);                                     \
    template T bsr<T>(T, T, uint64_t&);                                     \
    template T popcnt<T>(T, uint64_t&);                                     \
    template T lzcnt<T>(T, uint64_t&);                                      \
    template T tzcnt<T>(T, uint64_t&);                                      \
    template T bswap<T>(T);

XKVM_ALU_INSTANTIATE(uint8_t)
XKVM_ALU_INSTANTIATE(uint16_t)
XKVM_ALU_INSTANTIATE(uint32_t)
XKVM_ALU_INSTANTIATE(uint64_t)
#undef XKVM_ALU_INSTANTIATE

} // namespace xkvm::emu::alu

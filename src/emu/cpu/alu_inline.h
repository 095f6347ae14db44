// Bodies of the ALU functions the interpreter calls for almost every instruction (binop, inc/dec,
// neg, the group-2 shifts and rotates, condition), kept in a header so that they inline into the
// handlers. Included by alu.h only; alu.cpp still instantiates them explicitly for the four sizes.
//
// Flags come from carry vectors rather than from per-flag branches: bit i of the carry (or
// borrow) vector is the carry out of bit i, so CF is its top bit, AF the bit out of bit 3, and OF
// whether the carries into and out of the sign bit differ.
#pragma once

#include <cstdint>
#include <type_traits>

namespace xkvm::emu::alu {

namespace detail {

template<typename T> inline constexpr unsigned kBits = sizeof(T) * 8;
inline constexpr unsigned kOfShift = 11;

// PF is set for an even number of ones in the low byte; 0x6996 is the odd-parity table of a nibble.
inline uint64_t parity_flag(uint64_t v)
{
    const unsigned nibble = unsigned((v ^ (v >> 4)) & 0xf);
    return uint64_t(~(0x6996u >> nibble) & 1u) << 2;
}

template<typename T> inline uint64_t msb(T v) { return uint64_t(v >> (kBits<T> - 1)) & 1; }

// SF, ZF and PF of a result, the three flags almost every instruction sets the same way.
template<typename T> inline uint64_t szp_flags(T r)
{
    return parity_flag(r) | (r == 0 ? kZf : 0) | (msb(r) << 7);
}

template<typename T> inline uint64_t carry_flags(T carries, T r)
{
    const uint64_t top = msb(carries);
    const uint64_t below_top = uint64_t(carries >> (kBits<T> - 2)) & 1;
    return top | (uint64_t(carries >> 3) & 1) << 4 | (top ^ below_top) << kOfShift | szp_flags(r);
}

// Carry out of each bit of a + b (+ carry in) that gave r: majority of a, b and the carry in.
template<typename T> inline uint64_t add_flags(T a, T b, T r)
{
    return carry_flags<T>(T((a & b) | ((a | b) & T(~r))), r);
}

// Borrow out of each bit of a - b (- borrow in) that gave r.
template<typename T> inline uint64_t sub_flags(T a, T b, T r)
{
    return carry_flags<T>(T((T(~a) & b) | (T(~(a ^ b)) & r)), r);
}

inline uint64_t set_flags(uint64_t rflags, uint64_t which, uint64_t values)
{
    return (rflags & ~which) | values;
}

template<typename T> inline T shl(T a, unsigned c, uint64_t& rflags)
{
    T r;
    uint64_t cf;
    if constexpr (kBits<T> < 64) {
        // c <= 31, so the unshifted-out bits all fit: CF is the bit that lands just above.
        const uint64_t wide = uint64_t(a) << c;
        r = T(wide);
        cf = (wide >> kBits<T>) & 1;
    } else {
        r = T(a << c);
        cf = (a >> (64 - c)) & 1;
    }
    // OF is defined for a count of 1 only; other counts get the same formula.
    const uint64_t of = msb(r) ^ cf;
    rflags = set_flags(rflags, kArithFlags, cf | szp_flags(r) | of << kOfShift);
    return r;
}

template<typename T> inline T shr(T a, unsigned c, uint64_t& rflags)
{
    // c is at most 63 and, below 64-bit operands, at most 31: shifting the widened value past
    // the operand's width gives the architectural zeros.
    const T r = T(uint64_t(a) >> c);
    const uint64_t cf = (uint64_t(a) >> (c - 1)) & 1;
    rflags = set_flags(rflags, kArithFlags, cf | szp_flags(r) | msb(a) << kOfShift);
    return r;
}

template<typename T> inline T sar(T a, unsigned c, uint64_t& rflags)
{
    const int64_t s = int64_t(std::make_signed_t<T>(a));
    const T r = T(uint64_t(s >> c));
    const uint64_t cf = uint64_t(s >> (c - 1)) & 1;
    rflags = set_flags(rflags, kArithFlags, cf | szp_flags(r)); // OF = 0
    return r;
}

template<typename T> inline T rotate(bool left, T a, unsigned c, uint64_t& rflags)
{
    constexpr unsigned kMask = kBits<T> - 1;
    const unsigned t = c & kMask;
    T r;
    uint64_t cf, of;
    if (left) {
        r = T(T(a << t) | T(a >> ((kBits<T> - t) & kMask)));
        cf = r & 1;
        of = msb(r) ^ cf;
    } else {
        r = T(T(a >> t) | T(a << ((kBits<T> - t) & kMask)));
        cf = msb(r);
        of = cf ^ (uint64_t(r >> (kBits<T> - 2)) & 1);
    }
    rflags = set_flags(rflags, kCf | kOf, cf | of << kOfShift);
    return r;
}

// Rotation through CF is a rotation of the (width + 1)-bit value CF:a. Up to 32-bit operands
// that value fits a uint64_t and the count (mod 9 / 17 below 32 bits) needs no special case.
template<typename T> inline T rotate_carry(bool left, T a, unsigned c, uint64_t& rflags)
{
    constexpr unsigned kN = kBits<T>;
    const uint64_t cin = rflags & kCf;
    T r;
    uint64_t cf;
    if constexpr (kN < 64) {
        const unsigned t = kN < 32 ? c % (kN + 1) : c;
        const uint64_t v = cin << kN | a;
        const uint64_t mask = (uint64_t(1) << (kN + 1)) - 1;
        const uint64_t rotated = left ? (v << t | v >> (kN + 1 - t)) : (v >> t | v << (kN + 1 - t));
        r = T(rotated);
        cf = (rotated & mask) >> kN;
    } else if (left) { // 1 <= c <= 63; the two-step shifts avoid shifting by 64
        r = a << c | cin << (c - 1) | (a >> (64 - c)) >> 1;
        cf = (a >> (64 - c)) & 1;
    } else {
        r = a >> c | cin << (64 - c) | (a << (64 - c)) << 1;
        cf = (a >> (c - 1)) & 1;
    }
    // OF is defined for a count of 1 only; other counts get the same formula.
    const uint64_t of = left ? msb(r) ^ cf : msb(r) ^ (uint64_t(r >> (kN - 2)) & 1);
    rflags = set_flags(rflags, kCf | kOf, cf | of << kOfShift);
    return r;
}

// Bit i of entry cc: whether condition cc holds for the flag combination i (CF PF ZF SF OF in
// bits 0-4), so condition() is a load and a shift.
constexpr uint32_t condition_mask(uint8_t cc)
{
    uint32_t mask = 0;
    for (unsigned i = 0; i < 32; ++i) {
        const bool cf = i & 1, pf = i & 2, zf = i & 4, sf = i & 8, of = i & 16;
        const bool base[8] = { of, cf, zf, cf || zf, sf, pf, sf != of, zf || sf != of };
        if (base[cc >> 1] != bool(cc & 1))
            mask |= 1u << i;
    }
    return mask;
}

inline constexpr uint32_t kConditionMasks[16] = {
    condition_mask(0),  condition_mask(1),  condition_mask(2),  condition_mask(3),
    condition_mask(4),  condition_mask(5),  condition_mask(6),  condition_mask(7),
    condition_mask(8),  condition_mask(9),  condition_mask(10), condition_mask(11),
    condition_mask(12), condition_mask(13), condition_mask(14), condition_mask(15),
};

} // namespace detail

template<typename T> inline T binop(BinOp op, T a, T b, uint64_t& rflags)
{
    using namespace detail;
    const T carry_in = T(rflags & kCf);
    T r;
    uint64_t flags;
    switch (op) {
    case BinOp::Add:
    case BinOp::Adc:
        r = T(a + b + (op == BinOp::Adc ? carry_in : T(0)));
        flags = add_flags(a, b, r);
        break;
    case BinOp::Sub:
    case BinOp::Sbb:
    case BinOp::Cmp:
        r = T(a - b - (op == BinOp::Sbb ? carry_in : T(0)));
        flags = sub_flags(a, b, r);
        break;
    case BinOp::Or: r = T(a | b); flags = szp_flags(r); break;
    case BinOp::And: r = T(a & b); flags = szp_flags(r); break;
    default: r = T(a ^ b); flags = szp_flags(r); break; // Xor
    }
    // Logic ops: CF = OF = 0 and the undefined AF = 0.
    rflags = set_flags(rflags, kArithFlags, flags);
    return op == BinOp::Cmp ? a : r;
}

template<typename T> inline T inc(T a, uint64_t& rflags)
{
    const T r = T(a + 1);
    rflags = detail::set_flags(rflags, kArithFlags & ~kCf, detail::add_flags<T>(a, 1, r) & ~kCf);
    return r;
}

template<typename T> inline T dec(T a, uint64_t& rflags)
{
    const T r = T(a - 1);
    rflags = detail::set_flags(rflags, kArithFlags & ~kCf, detail::sub_flags<T>(a, 1, r) & ~kCf);
    return r;
}

template<typename T> inline T neg(T a, uint64_t& rflags)
{
    const T r = T(T(0) - a);
    rflags = detail::set_flags(rflags, kArithFlags, detail::sub_flags<T>(0, a, r));
    return r;
}

template<typename T> inline T shift(ShiftOp op, T a, uint8_t count, uint64_t& rflags)
{
    const unsigned c = count & (detail::kBits<T> == 64 ? 0x3f : 0x1f);
    if (c == 0)
        return a;
    switch (op) {
    case ShiftOp::Rol: return detail::rotate(true, a, c, rflags);
    case ShiftOp::Ror: return detail::rotate(false, a, c, rflags);
    case ShiftOp::Rcl: return detail::rotate_carry(true, a, c, rflags);
    case ShiftOp::Rcr: return detail::rotate_carry(false, a, c, rflags);
    case ShiftOp::Shr: return detail::shr(a, c, rflags);
    case ShiftOp::Sar: return detail::sar(a, c, rflags);
    default: return detail::shl(a, c, rflags); // Shl, Sal
    }
}

inline bool condition(uint8_t cc, uint64_t rflags)
{
    const unsigned combo = unsigned((rflags & kCf) | (rflags >> 1 & 2) | (rflags >> 4 & 0xc) |
                                    (rflags >> 7 & 0x10));
    return (detail::kConditionMasks[cc & 15] >> combo) & 1;
}

} // namespace xkvm::emu::alu

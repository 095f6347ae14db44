// MUL, IMUL, DIV and IDIV. Up to 32-bit operands the double-width values fit 64-bit integers;
// 64-bit operands get a portable 128-bit product and quotient.
#include "emu/cpu/alu.h"

#include <limits>
#include <type_traits>

namespace xkvm::emu::alu {

using detail::kBits;
using detail::set_flags;
using detail::szp_flags;

namespace {

struct U128 {
    uint64_t lo, hi;
};

U128 mul_u64(uint64_t a, uint64_t b)
{
    const uint64_t a_lo = uint32_t(a), a_hi = a >> 32, b_lo = uint32_t(b), b_hi = b >> 32;
    const uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo, p3 = a_hi * b_hi;
    const uint64_t mid = (p0 >> 32) + uint32_t(p1) + uint32_t(p2);
    return { mid << 32 | uint32_t(p0), p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32) };
}

// Signed high half from the unsigned one: a negative factor contributes 2^64 * the other one.
U128 mul_s64(uint64_t a, uint64_t b)
{
    U128 p = mul_u64(a, b);
    p.hi -= (a >> 63 ? b : 0) + (b >> 63 ? a : 0);
    return p;
}

template<typename T> Wide<T> product(T a, T b, bool is_signed)
{
    if constexpr (kBits<T> == 64) {
        const U128 p = is_signed ? mul_s64(a, b) : mul_u64(a, b);
        return { p.lo, p.hi };
    } else {
        using S = std::make_signed_t<T>;
        const uint64_t p = is_signed ? uint64_t(int64_t(S(a)) * int64_t(S(b))) : uint64_t(a) * b;
        return { T(p), T(p >> kBits<T>) };
    }
}

// CF = OF = 1 where the high half carries significant bits; the undefined SF ZF PF follow the
// low half and AF is cleared.
template<typename T> void mul_flags(Wide<T> p, bool is_signed, uint64_t& rflags)
{
    const T sign_fill = T(is_signed && detail::msb(p.lo) ? ~T(0) : T(0));
    const uint64_t overflow = p.hi != sign_fill ? kCf | kOf : 0;
    rflags = set_flags(rflags, kArithFlags, overflow | szp_flags(p.lo));
}

// Restoring division of hi:lo by d, one quotient bit at a time; needs hi < d, so that the
// quotient fits 64 bits. `carry` is bit 64 of the shifted partial remainder.
DivResult<uint64_t> div_u128(uint64_t hi, uint64_t lo, uint64_t d)
{
    if (hi == 0) // the usual case (a zero-extended dividend: RDX cleared): one host division
        return { lo / d, lo % d };
    uint64_t rem = hi, q = 0;
    for (int i = 63; i >= 0; --i) {
        const uint64_t carry = rem >> 63;
        rem = rem << 1 | ((lo >> i) & 1);
        const uint64_t take = carry | (rem >= d ? 1 : 0);
        rem -= take ? d : 0;
        q = q << 1 | take;
    }
    return { q, rem };
}

std::optional<DivResult<uint64_t>> idiv_s128(uint64_t hi, uint64_t lo, uint64_t divisor)
{
    const bool dividend_neg = hi >> 63, divisor_neg = divisor >> 63;
    uint64_t mag_hi = hi, mag_lo = lo;
    if (dividend_neg) {
        mag_lo = 0 - lo;
        mag_hi = ~hi + (lo == 0 ? 1 : 0);
    }
    const uint64_t mag_d = divisor_neg ? 0 - divisor : divisor;
    if (mag_hi >= mag_d)
        return std::nullopt;
    const DivResult<uint64_t> m = div_u128(mag_hi, mag_lo, mag_d);
    const bool quotient_neg = dividend_neg != divisor_neg;
    const uint64_t limit = quotient_neg ? uint64_t(1) << 63 : (uint64_t(1) << 63) - 1;
    if (m.quotient > limit)
        return std::nullopt;
    return DivResult<uint64_t>{ quotient_neg ? 0 - m.quotient : m.quotient,
                                dividend_neg ? 0 - m.remainder : m.remainder };
}

} // namespace

template<typename T> Wide<T> mul(T a, T b, uint64_t& rflags)
{
    const Wide<T> p = product(a, b, false);
    mul_flags(p, false, rflags);
    return p;
}

template<typename T> Wide<T> imul(T a, T b, uint64_t& rflags)
{
    const Wide<T> p = product(a, b, true);
    mul_flags(p, true, rflags);
    return p;
}

// The truncated product overflows exactly where the full one's high half is more than the low
// half's sign (mul_flags), which is what the compiler's overflow check computes with one IMUL.
template<typename T> T imul_trunc(T a, T b, uint64_t& rflags)
{
    using S = std::make_signed_t<T>;
    S r;
    const bool overflow = __builtin_mul_overflow(S(a), S(b), &r);
    rflags = set_flags(rflags, kArithFlags, (overflow ? kCf | kOf : 0) | szp_flags(T(r)));
    return T(r);
}

template<typename T>
std::optional<DivResult<T>> div(T hi, T lo, T divisor, uint64_t& /*rflags: all undefined*/)
{
    if (divisor == 0 || hi >= divisor)
        return std::nullopt;
    if constexpr (kBits<T> == 64) {
        return div_u128(hi, lo, divisor);
    } else {
        const uint64_t dividend = uint64_t(hi) << kBits<T> | lo;
        return DivResult<T>{ T(dividend / divisor), T(dividend % divisor) };
    }
}

template<typename T>
std::optional<DivResult<T>> idiv(T hi, T lo, T divisor, uint64_t& /*rflags: all undefined*/)
{
    if (divisor == 0)
        return std::nullopt;
    if constexpr (kBits<T> == 64) {
        return idiv_s128(hi, lo, divisor);
    } else {
        using S = std::make_signed_t<T>;
        // Sign-extend the 2N-bit dividend: shift it to the top of an int64_t and back.
        constexpr unsigned kSpare = 64 - 2 * kBits<T>;
        const uint64_t raw = uint64_t(hi) << kBits<T> | lo;
        const int64_t dividend = int64_t(raw << kSpare) >> kSpare;
        const int64_t d = S(divisor);
        // INT64_MIN / -1 overflows in C++ as it does on the CPU.
        if (d == -1 && dividend == std::numeric_limits<int64_t>::min())
            return std::nullopt;
        const int64_t q = dividend / d;
        if (q < std::numeric_limits<S>::min() || q > std::numeric_limits<S>::max())
            return std::nullopt;
        return DivResult<T>{ T(q), T(dividend % d) };
    }
}

#define XKVM_ALU_INSTANTIATE(T)                                                       \
    template Wide<T> mul<T>(T, T, uint64_t&);                                         \
    template Wide<T> imul<T>(T, T, uint64_t&);                                        \
    template T imul_trunc<T>(T, T, uint64_t&);                                        \
    template std::optional<DivResult<T>> div<T>(T, T, T, uint64_t&);                  \
    template std::optional<DivResult<T>> idiv<T>(T, T, T, uint64_t&);

XKVM_ALU_INSTANTIATE(uint8_t)
XKVM_ALU_INSTANTIATE(uint16_t)
XKVM_ALU_INSTANTIATE(uint32_t)
XKVM_ALU_INSTANTIATE(uint64_t)
#undef XKVM_ALU_INSTANTIATE

} // namespace xkvm::emu::alu

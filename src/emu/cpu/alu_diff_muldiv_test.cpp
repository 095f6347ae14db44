// Differential test of MUL, IMUL (one, two and three operands), DIV and IDIV against the host.
// Whether a division faults is decided here by 128-bit arithmetic, independently of alu.cpp: the
// host runs only the divisions that do not fault, and a separate test checks that a few of the
// faulting ones really raise #DE (SIGFPE) on the host.
#include "emu/cpu/alu.h"

#include <gtest/gtest.h>

#include <csetjmp>
#include <csignal>
#include <limits>
#include <type_traits>

#include "emu/cpu/alu_diff_host.h"
#include "emu/cpu/alu_diff_util.h"

namespace xkvm::emu::alu::difftest {
namespace {


template<typename T> void check_mul(Checker& ck, T a, T b, uint64_t flags)
{
    uint64_t f = flags;
    Wide<T> p = mul(a, b, f);
    const T hi_in = 0;
    ck.check("MUL", bits_of<T>(), { a, b }, flags, host_mul(hi_in, a, b, flags), { p.lo, p.hi, f },
             kMulFlags);
    f = flags;
    p = imul(a, b, f);
    ck.check("IMUL r/m", bits_of<T>(), { a, b }, flags, host_imul1(hi_in, a, b, flags),
             { p.lo, p.hi, f }, kMulFlags);
    if constexpr (sizeof(T) > 1) {
        f = flags;
        const T r = imul_trunc(a, b, f);
        ck.check("IMUL r, r/m", bits_of<T>(), { a, b }, flags, host_imul2(a, b, flags),
                 { r, 0, f }, kMulFlags);
    }
}

template<typename T, int32_t kImm> void check_imul3(Checker& ck, T src, uint64_t flags)
{
    uint64_t f = flags;
    const T r = imul_trunc(src, T(int64_t(kImm)), f);
    ck.check("IMUL r, r/m, imm", bits_of<T>(), { src, uint64_t(int64_t(kImm)) }, flags,
             host_imul3<T, kImm>(src, flags), { r, 0, f }, kMulFlags);
}

template<typename T> void imul3(Checker& ck, Rng& rng)
{
    for (unsigned i = 0; i < scaled(50000); ++i) {
        const T src = operand<T>(rng);
        const uint64_t flags = rng.flags();
        check_imul3<T, -128>(ck, src, flags);
        check_imul3<T, -1>(ck, src, flags);
        check_imul3<T, 0>(ck, src, flags);
        check_imul3<T, 3>(ck, src, flags);
        check_imul3<T, 127>(ck, src, flags);
        check_imul3<T, 32767>(ck, src, flags);
        check_imul3<T, -32768>(ck, src, flags);
        if constexpr (sizeof(T) > 2) {
            check_imul3<T, std::numeric_limits<int32_t>::max()>(ck, src, flags);
            check_imul3<T, std::numeric_limits<int32_t>::min()>(ck, src, flags);
            check_imul3<T, 0x12345>(ck, src, flags);
        }
    }
}

template<typename T> void muls(Checker& ck, Rng& rng)
{
    if constexpr (sizeof(T) == 1) {
        for (unsigned a = 0; a < 256; ++a)
            for (unsigned b = 0; b < 256; ++b)
                check_mul(ck, T(a), T(b), rng.flags());
    } else {
        for (unsigned i = 0; i < scaled(400000); ++i)
            check_mul(ck, operand<T>(rng), operand<T>(rng), rng.flags());
        imul3<T>(ck, rng);
    }
}

TEST(AluDiff, MulImul)
{
    Checker ck("MUL IMUL");
    Rng rng(10);
    muls<uint8_t>(ck, rng);
    muls<uint16_t>(ck, rng);
    muls<uint32_t>(ck, rng);
    muls<uint64_t>(ck, rng);
}

using U128 = unsigned __int128;
using S128 = __int128;

// #DE by arithmetic: divisor 0, or a quotient outside T (unsigned) or its signed counterpart.
template<typename T> bool div_faults(bool is_signed, T hi, T lo, T divisor)
{
    if (divisor == 0)
        return true;
    constexpr unsigned kN = bits_of<T>();
    const U128 raw = U128(hi) << kN | lo;
    if (!is_signed)
        return raw / divisor > std::numeric_limits<T>::max();
    using S = std::make_signed_t<T>;
    const S128 dividend = S128(raw << (128 - 2 * kN)) >> (128 - 2 * kN);
    const S128 q = dividend / S128(S(divisor));
    return q < std::numeric_limits<S>::min() || q > std::numeric_limits<S>::max();
}

// Returns whether the division raises #DE.
template<typename T> bool check_div(Checker& ck, bool is_signed, T hi, T lo, T divisor)
{
    const uint64_t flags = 2 | (lo & kArithFlags);
    uint64_t f = flags;
    const auto emu = is_signed ? idiv(hi, lo, divisor, f) : div(hi, lo, divisor, f);
    const char* name = is_signed ? "IDIV" : "DIV";
    const bool faults = div_faults(is_signed, hi, lo, divisor);
    if (faults || !emu) { // r0 = 1: raises #DE (expected by arithmetic beside the ALU's answer)
        ck.check(is_signed ? "IDIV raises #DE" : "DIV raises #DE", bits_of<T>(),
                 { hi, lo, divisor }, flags, { faults, 0, 0 }, { !emu, 0, 0 }, 0);
        return true;
    }
    const Outcome host = is_signed ? host_idiv(hi, lo, divisor, flags)
                                   : host_div(hi, lo, divisor, flags);
    // All flags are undefined after DIV/IDIV.
    ck.check(name, bits_of<T>(), { hi, lo, divisor }, flags, host,
             { emu->quotient, emu->remainder, f }, 0);
    return false;
}

// Dividends are chosen so that most quotients fit: hi is random below the divisor (or its sign
// extension for IDIV) most of the time, anything at all otherwise.
template<typename T> unsigned divs(Checker& ck, Rng& rng)
{
    unsigned faults = 0;
    using S = std::make_signed_t<T>;
    for (unsigned i = 0; i < scaled(300000); ++i) {
        const T divisor = operand<T>(rng), lo = operand<T>(rng);
        const uint64_t pick = rng.next();
        const T udiv_hi = divisor == 0 ? T(pick) : T(T(pick) % divisor);
        const T sign_fill = S(lo) < 0 ? T(~T(0)) : T(0);
        const T hi = (pick >> 60) == 0 ? operand<T>(rng) : udiv_hi;
        faults += check_div(ck, false, hi, lo, divisor);
        faults += check_div(ck, true, (pick >> 59) & 1 ? hi : sign_fill, lo, divisor);
    }
    const auto edges = edge_values<T>();
    for (T hi : { T(0), T(~T(0)), T(1) })
        for (T lo : edges)
            for (T d : edges) {
                faults += check_div(ck, false, hi, lo, d);
                faults += check_div(ck, true, hi, lo, d);
            }
    return faults;
}

TEST(AluDiff, DivIdivIncludingFaults)
{
    Checker ck("DIV IDIV");
    Rng rng(11);
    const unsigned faults =
        divs<uint8_t>(ck, rng) + divs<uint16_t>(ck, rng) + divs<uint32_t>(ck, rng) +
        divs<uint64_t>(ck, rng);
    std::printf("[ alu-diff ] DIV IDIV: %u of them raise #DE (decided, not run on the host)\n",
                faults);
    EXPECT_GT(faults, 0u);
    EXPECT_LT(faults, ck.cases() / 2) << "most divisions should run on the host";
}

sigjmp_buf g_fault_jump;

void on_sigfpe(int) { siglongjmp(g_fault_jump, 1); }

// Runs one division on the host; true if it raised SIGFPE.
template<typename T> bool host_division_traps(bool is_signed, T hi, T lo, T divisor)
{
    struct sigaction action = {}, old = {};
    action.sa_handler = on_sigfpe;
    sigemptyset(&action.sa_mask);
    sigaction(SIGFPE, &action, &old);
    volatile bool trapped = false;
    if (sigsetjmp(g_fault_jump, 1) == 0) {
        if (is_signed)
            host_idiv(hi, lo, divisor, 2);
        else
            host_div(hi, lo, divisor, 2);
    } else {
        trapped = true;
    }
    sigaction(SIGFPE, &old, nullptr);
    return trapped;
}

template<typename T> void expect_trap_agreement(bool is_signed, T hi, T lo, T divisor)
{
    uint64_t f = 2;
    const bool emu_faults = !(is_signed ? idiv(hi, lo, divisor, f) : div(hi, lo, divisor, f));
    EXPECT_TRUE(div_faults(is_signed, hi, lo, divisor));
    EXPECT_TRUE(emu_faults);
    EXPECT_TRUE(host_division_traps(is_signed, hi, lo, divisor))
        << (is_signed ? "IDIV " : "DIV ") << bits_of<T>() << "-bit " << uint64_t(hi) << ":"
        << uint64_t(lo) << " / " << uint64_t(divisor);
}

template<typename T> void faulting_divisions()
{
    const T max = T(~T(0)), min_signed = T(T(1) << (bits_of<T>() - 1));
    expect_trap_agreement<T>(false, 0, 1, 0);         // divide by zero
    expect_trap_agreement<T>(false, 1, 0, 1);         // quotient 2^N
    expect_trap_agreement<T>(false, max, max, max);   // hi == divisor
    expect_trap_agreement<T>(true, 0, 5, 0);          // divide by zero
    expect_trap_agreement<T>(true, max, min_signed, max); // MIN / -1
    expect_trap_agreement<T>(true, 0, min_signed, 1); // +2^(N-1) does not fit
}

TEST(AluDiff, FaultingDivisionsTrapOnTheHost)
{
    faulting_divisions<uint8_t>();
    faulting_divisions<uint16_t>();
    faulting_divisions<uint32_t>();
    faulting_divisions<uint64_t>();
    // And a division right at the edge does not trap: -2^(N-1) / 1.
    EXPECT_FALSE(host_division_traps<uint32_t>(true, ~0u, 0x80000000u, 1));
}

} // namespace
} // namespace xkvm::emu::alu::difftest

// Differential test of the ALU against the host CPU: the group-1 ops, INC DEC NEG NOT, the
// group-2 shifts and rotates, SHLD/SHRD and the condition codes. Each case runs the instruction on
// the host (alu_diff_host.h) and through alu.h with the same operands and input flags, and
// compares the results and the flags the SDM defines for that instruction and count.
#include "emu/cpu/alu.h"

#include <gtest/gtest.h>

#include "emu/cpu/alu_diff_host.h"
#include "emu/cpu/alu_diff_util.h"

namespace xkvm::emu::alu::difftest {
namespace {

template<typename T> Outcome host_binop(BinOp op, T a, T b, uint64_t flags)
{
    switch (op) {
    case BinOp::Add: return host_add(a, b, flags);
    case BinOp::Or: return host_or(a, b, flags);
    case BinOp::Adc: return host_adc(a, b, flags);
    case BinOp::Sbb: return host_sbb(a, b, flags);
    case BinOp::And: return host_and(a, b, flags);
    case BinOp::Sub: return host_sub(a, b, flags);
    case BinOp::Xor: return host_xor(a, b, flags);
    default: return host_cmp(a, b, flags);
    }
}

constexpr const char* kBinOpNames[] = { "ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP" };

template<typename T> void check_binop(Checker& ck, BinOp op, T a, T b, uint64_t flags)
{
    uint64_t emu_flags = flags;
    const T r = binop(op, a, b, emu_flags);
    const bool logic = op == BinOp::Or || op == BinOp::And || op == BinOp::Xor;
    ck.check(kBinOpNames[unsigned(op)], bits_of<T>(), { a, b }, flags, host_binop(op, a, b, flags),
             { r, 0, emu_flags }, logic ? kLogicFlags : kArithFlags);
}

template<typename T> void binops(Checker& ck, Rng& rng)
{
    for (unsigned o = 0; o < 8; ++o) {
        const BinOp op = BinOp(o);
        if constexpr (sizeof(T) == 1) { // every operand pair, both carries in
            for (unsigned a = 0; a < 256; ++a)
                for (unsigned b = 0; b < 256; ++b)
                    for (uint64_t cf = 0; cf < 2; ++cf)
                        check_binop(ck, op, T(a), T(b), (rng.flags() & ~kCf) | cf);
        } else {
            const auto edges = edge_values<T>();
            for (T a : edges)
                for (T b : edges)
                    check_binop(ck, op, a, b, rng.flags());
            for (unsigned i = 0; i < scaled(1000000); ++i)
                check_binop(ck, op, operand<T>(rng), operand<T>(rng), rng.flags());
        }
    }
}

TEST(AluDiff, BinOps)
{
    Checker ck("ADD OR ADC SBB AND SUB XOR CMP");
    Rng rng(1);
    binops<uint8_t>(ck, rng);
    binops<uint16_t>(ck, rng);
    binops<uint32_t>(ck, rng);
    binops<uint64_t>(ck, rng);
}

template<typename T> void unary_case(Checker& ck, T a, uint64_t flags)
{
    uint64_t f = flags;
    T r = inc(a, f);
    ck.check("INC", bits_of<T>(), { a }, flags, host_inc(a, flags), { r, 0, f }, kArithFlags);
    f = flags;
    r = dec(a, f);
    ck.check("DEC", bits_of<T>(), { a }, flags, host_dec(a, flags), { r, 0, f }, kArithFlags);
    f = flags;
    r = neg(a, f);
    ck.check("NEG", bits_of<T>(), { a }, flags, host_neg(a, flags), { r, 0, f }, kArithFlags);
    // NOT has no ALU function (it touches no flag): the host must agree on both counts.
    ck.check("NOT", bits_of<T>(), { a }, flags, host_not(a, flags), { T(~a), 0, flags },
             kArithFlags);
}

template<typename T> void unaries(Checker& ck, Rng& rng)
{
    const unsigned n = sizeof(T) <= 2 ? 1u << bits_of<T>() : scaled(1000000);
    for (unsigned i = 0; i < n; ++i) {
        const T a = sizeof(T) <= 2 ? T(i) : operand<T>(rng);
        unary_case(ck, a, rng.flags());
    }
}

TEST(AluDiff, IncDecNegNot)
{
    Checker ck("INC DEC NEG NOT");
    Rng rng(2);
    unaries<uint8_t>(ck, rng);
    unaries<uint16_t>(ck, rng);
    unaries<uint32_t>(ck, rng);
    unaries<uint64_t>(ck, rng);
}

template<typename T> Outcome host_shift(ShiftOp op, T a, uint8_t count, uint64_t flags)
{
    switch (op) {
    case ShiftOp::Rol: return host_rol(a, count, flags);
    case ShiftOp::Ror: return host_ror(a, count, flags);
    case ShiftOp::Rcl: return host_rcl(a, count, flags);
    case ShiftOp::Rcr: return host_rcr(a, count, flags);
    case ShiftOp::Shr: return host_shr(a, count, flags);
    case ShiftOp::Sar: return host_sar(a, count, flags);
    default: return host_shl(a, count, flags);
    }
}

constexpr const char* kShiftNames[] = { "ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAL", "SAR" };

template<typename T> void check_shift(Checker& ck, ShiftOp op, T a, uint8_t count, uint64_t flags)
{
    uint64_t f = flags;
    const T r = shift(op, a, count, f);
    ck.check(kShiftNames[unsigned(op)], bits_of<T>(), { a, count }, flags,
             host_shift(op, a, count, flags), { r, 0, f }, shift_defined_flags<T>(op, count));
}

template<typename T> void shifts(Checker& ck, Rng& rng)
{
    constexpr ShiftOp kOps[] = { ShiftOp::Rol, ShiftOp::Ror, ShiftOp::Rcl, ShiftOp::Rcr,
                                 ShiftOp::Shl, ShiftOp::Shr, ShiftOp::Sal, ShiftOp::Sar };
    for (ShiftOp op : kOps) {
        const unsigned values = sizeof(T) == 1 ? 256 : scaled(4000);
        for (unsigned i = 0; i < values; ++i) {
            const T a = sizeof(T) == 1 ? T(i) : operand<T>(rng);
            for (unsigned count = 0; count < 256; ++count)
                check_shift(ck, op, a, uint8_t(count), rng.flags());
        }
    }
}

TEST(AluDiff, ShiftsAndRotatesEveryCount)
{
    Checker ck("ROL ROR RCL RCR SHL SHR SAR");
    Rng rng(3);
    shifts<uint8_t>(ck, rng);
    shifts<uint16_t>(ck, rng);
    shifts<uint32_t>(ck, rng);
    shifts<uint64_t>(ck, rng);
}

template<typename T>
void check_double_shift(Checker& ck, bool left, T dst, T src, uint8_t count, uint64_t flags)
{
    const unsigned c = count & (bits_of<T>() == 64 ? 0x3f : 0x1f);
    if (c > bits_of<T>())
        return; // 16-bit counts above 16: result and flags undefined
    uint64_t f = flags;
    const T r = left ? shld(dst, src, count, f) : shrd(dst, src, count, f);
    const Outcome host =
        left ? host_shld(dst, src, count, flags) : host_shrd(dst, src, count, flags);
    const uint64_t defined = c == 0 ? kArithFlags : kCf | kPf | kZf | kSf | (c == 1 ? kOf : 0);
    ck.check(left ? "SHLD" : "SHRD", bits_of<T>(), { dst, src, count }, flags, host, { r, 0, f },
             defined);
}

template<typename T> void double_shifts(Checker& ck, Rng& rng)
{
    for (unsigned i = 0; i < scaled(4000); ++i) {
        const T dst = operand<T>(rng), src = operand<T>(rng);
        for (unsigned count = 0; count < 256; ++count) {
            check_double_shift(ck, true, dst, src, uint8_t(count), rng.flags());
            check_double_shift(ck, false, dst, src, uint8_t(count), rng.flags());
        }
    }
}

TEST(AluDiff, DoubleShiftsEveryCount)
{
    Checker ck("SHLD SHRD");
    Rng rng(4);
    double_shifts<uint16_t>(ck, rng);
    double_shifts<uint32_t>(ck, rng);
    double_shifts<uint64_t>(ck, rng);
}

TEST(AluDiff, ConditionCodesAllFlagCombinations)
{
    Checker ck("SETcc");
    // Every combination of the six arithmetic flags (AF included: no condition may read it).
    for (uint64_t combo = 0; combo < 64; ++combo) {
        uint64_t flags = 2;
        const uint64_t bits[] = { kCf, kPf, kAf, kZf, kSf, kOf };
        for (unsigned i = 0; i < 6; ++i)
            flags |= (combo >> i & 1) ? bits[i] : 0;
        for (uint8_t cc = 0; cc < 16; ++cc)
            ck.check("SETcc", 8, { cc }, flags, { kHostSetcc[cc](flags), 0, 0 },
                     { condition(cc, flags) ? 1u : 0u, 0, 0 }, 0);
    }
    Rng rng(5);
    for (unsigned i = 0; i < scaled(100000); ++i) {
        const uint64_t flags = rng.flags();
        const uint8_t cc = uint8_t(rng.next() & 15);
        ck.check("SETcc", 8, { cc }, flags, { kHostSetcc[cc](flags), 0, 0 },
                 { condition(cc, flags) ? 1u : 0u, 0, 0 }, 0);
    }
}

} // namespace
} // namespace xkvm::emu::alu::difftest

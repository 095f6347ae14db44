// The ALU's documented choices for flags the SDM leaves undefined, and edge semantics the
// differential test cannot pin down (undefined on the host) or that deserve a named case.
#include "emu/cpu/alu.h"

#include <gtest/gtest.h>

namespace xkvm::emu::alu {
namespace {

constexpr uint64_t kOther = 1u << 1 | 1u << 9 | kDf; // bits no ALU function may touch

TEST(Alu, LogicOpsClearAfCfOf)
{
    for (BinOp op : { BinOp::And, BinOp::Or, BinOp::Xor }) {
        uint64_t f = kArithFlags | kOther;
        const uint8_t r = binop<uint8_t>(op, 0x0f, 0x0f, f);
        EXPECT_EQ(f & (kAf | kCf | kOf), 0u);
        EXPECT_EQ(f & kOther, kOther);
        EXPECT_EQ(bool(f & kZf), r == 0);
    }
}

TEST(Alu, CmpReturnsFirstOperand)
{
    uint64_t f = 2;
    EXPECT_EQ(binop<uint32_t>(BinOp::Cmp, 5, 7, f), 5u);
    EXPECT_EQ(f & (kCf | kSf | kZf), kCf | kSf);
}

TEST(Alu, MaskedShiftCountZeroChangesNothing)
{
    for (uint64_t flags : { uint64_t(2), kArithFlags | kOther }) {
        for (ShiftOp op : { ShiftOp::Rol, ShiftOp::Ror, ShiftOp::Rcl, ShiftOp::Rcr, ShiftOp::Shl,
                            ShiftOp::Shr, ShiftOp::Sar }) {
            uint64_t f = flags;
            EXPECT_EQ(shift<uint8_t>(op, 0x81, 32, f), 0x81); // masked to 0, not 32 mod 9
            EXPECT_EQ(shift<uint16_t>(op, 0x8001, 0xe0, f), 0x8001);
            EXPECT_EQ(shift<uint32_t>(op, 0x80000001u, 32, f), 0x80000001u);
            EXPECT_EQ(shift<uint64_t>(op, 1, 64, f), 1u);
            EXPECT_EQ(f, flags);
        }
        uint64_t f = flags;
        EXPECT_EQ(shld<uint32_t>(1, 2, 32, f), 1u);
        EXPECT_EQ(shrd<uint64_t>(1, 2, 64, f), 1u);
        EXPECT_EQ(f, flags);
    }
}

TEST(Alu, RclRcrCountReducedModuloWidthPlusOne)
{
    uint64_t f = kCf;
    // 8-bit: 9 bits rotate, so a count of 9 (and 18, 27) is a full turn: value and CF unchanged.
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Rcl, 0x5a, 9, f), 0x5a);
    EXPECT_EQ(f & kCf, kCf);
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Rcr, 0x5a, 27, f), 0x5a);
    EXPECT_EQ(f & kCf, kCf);
    // 10 = 1 mod 9: CF enters bit 0, bit 7 leaves into CF.
    f = kCf;
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Rcl, 0x80, 10, f), 0x01);
    EXPECT_EQ(f & kCf, kCf);
    // 16-bit: a count of 17 is a full turn, 31 = 14 mod 17.
    f = 0;
    EXPECT_EQ(shift<uint16_t>(ShiftOp::Rcr, 0x1234, 17, f), 0x1234);
    uint64_t g = 0;
    EXPECT_EQ(shift<uint16_t>(ShiftOp::Rcr, 0x1234, 31, f),
              shift<uint16_t>(ShiftOp::Rcr, 0x1234, 14, g));
    EXPECT_EQ(f, g);
    // 32-bit: masked to 5 bits with no modulo, so 33 acts as 1.
    f = 0;
    EXPECT_EQ(shift<uint32_t>(ShiftOp::Rcl, 0x80000000u, 33, f), 0u);
    EXPECT_EQ(f & (kCf | kOf), kCf | kOf);
    // 64-bit by 63, a rotation right by 2 of the 65 bits CF:a: CF lands in bit 62, bit 1 in CF.
    f = kCf;
    EXPECT_EQ(shift<uint64_t>(ShiftOp::Rcl, 2, 63, f), uint64_t(1) << 62);
    EXPECT_EQ(f & kCf, kCf);
}

TEST(Alu, RotateByWidthKeepsValueButSetsCf)
{
    uint64_t f = 0;
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Rol, 0x81, 8, f), 0x81);
    EXPECT_EQ(f & kCf, kCf); // CF = LSB of the result
    f = kCf;
    EXPECT_EQ(shift<uint16_t>(ShiftOp::Ror, 0x0001, 16, f), 0x0001);
    EXPECT_EQ(f & kCf, 0u); // CF = MSB of the result
    f = kZf | kSf | kPf | kAf;
    shift<uint32_t>(ShiftOp::Rol, 0, 3, f);
    EXPECT_EQ(f & (kZf | kSf | kPf | kAf), kZf | kSf | kPf | kAf) << "rotates leave SF ZF AF PF";
}

TEST(Alu, ShiftUndefinedFlagChoices)
{
    uint64_t f = kAf;
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Shl, 0x40, 2, f), 0x00);
    EXPECT_EQ(f & (kCf | kAf | kOf | kZf), kCf | kZf | kOf); // OF = MSB(r) ^ CF for any count
    f = kOf;
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Shr, 0x80, 3, f), 0x10);
    EXPECT_EQ(f & kOf, kOf); // OF = MSB of the source for any count
    f = kOf;
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Sar, 0x80, 3, f), 0xf0);
    EXPECT_EQ(f & kOf, 0u);
    // 8/16-bit SHL/SHR past the width: CF is what the widened value shifts out (0 past it).
    f = 0;
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Shl, 0x01, 8, f), 0);
    EXPECT_EQ(f & kCf, kCf);
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Shl, 0xff, 9, f), 0);
    EXPECT_EQ(f & kCf, 0u);
    EXPECT_EQ(shift<uint16_t>(ShiftOp::Shr, 0x8000, 16, f), 0);
    EXPECT_EQ(f & kCf, kCf);
    EXPECT_EQ(shift<uint16_t>(ShiftOp::Shr, 0xffff, 20, f), 0);
    EXPECT_EQ(f & kCf, 0u);
    // SAR past the width fills with the sign, and CF is the sign too.
    EXPECT_EQ(shift<uint8_t>(ShiftOp::Sar, 0x80, 31, f), 0xff);
    EXPECT_EQ(f & kCf, kCf);
}

TEST(Alu, DoubleShiftEdges)
{
    uint64_t f = 0;
    // 16-bit by exactly 16: all of src, CF = bit 0 of dst (defined).
    EXPECT_EQ(shld<uint16_t>(0x0001, 0xabcd, 16, f), 0xabcd);
    EXPECT_EQ(f & kCf, kCf);
    // 16-bit by 17-31 is undefined; ours shifts the repeated pattern dst:src:dst:src.
    EXPECT_EQ(shld<uint16_t>(0x1234, 0xabcd, 20, f), 0xbcd1);
    EXPECT_EQ(shrd<uint16_t>(0x1234, 0xabcd, 20, f), 0x4abc);
    // 64-bit by 63.
    EXPECT_EQ(shrd<uint64_t>(0x8000000000000001ull, 0, 63, f), 1u);
    EXPECT_EQ(f & kCf, 0u);
}

TEST(Alu, MulFlagChoices)
{
    uint64_t f = kAf;
    const Wide<uint16_t> p = mul<uint16_t>(0x100, 0x100, f);
    EXPECT_EQ(p.lo, 0);
    EXPECT_EQ(p.hi, 1);
    // CF = OF = high half significant; SF ZF PF follow the low half; AF cleared.
    EXPECT_EQ(f & kArithFlags, kCf | kOf | kZf | kPf);
    f = 0;
    EXPECT_EQ(imul_trunc<uint32_t>(uint32_t(-3), 5, f), uint32_t(-15));
    EXPECT_EQ(f & kArithFlags, kSf); // fits: no CF/OF; the low byte 0xF1 has odd parity
}

TEST(Alu, Multiply64BitWide)
{
    uint64_t f = 0;
    Wide<uint64_t> p = mul<uint64_t>(~0ull, ~0ull, f);
    EXPECT_EQ(p.lo, 1u);
    EXPECT_EQ(p.hi, ~0ull - 1);
    p = imul<uint64_t>(~0ull, ~0ull, f); // -1 * -1
    EXPECT_EQ(p.lo, 1u);
    EXPECT_EQ(p.hi, 0u);
    EXPECT_EQ(f & (kCf | kOf), 0u);
    p = imul<uint64_t>(uint64_t(1) << 63, 2, f); // -2^63 * 2 = -2^64
    EXPECT_EQ(p.lo, 0u);
    EXPECT_EQ(p.hi, ~0ull);
    EXPECT_EQ(f & (kCf | kOf), kCf | kOf);
}

TEST(Alu, DivisionEdges)
{
    uint64_t f = kArithFlags;
    // Flags after DIV/IDIV are undefined: left as they were.
    auto q = div<uint64_t>(1, 0, 2, f);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->quotient, uint64_t(1) << 63);
    EXPECT_EQ(f, kArithFlags);
    EXPECT_FALSE(div<uint64_t>(2, 0, 2, f));
    EXPECT_FALSE(div<uint8_t>(0, 1, 0, f));
    // -2^(N-1) fits; +2^(N-1) does not.
    auto s = idiv<uint8_t>(0xff, 0x00, 2, f); // -256 / 2
    ASSERT_TRUE(s);
    EXPECT_EQ(s->quotient, 0x80);
    EXPECT_FALSE(idiv<uint8_t>(0x00, 0x80, 1, f));
    EXPECT_FALSE(idiv<uint32_t>(~0u, 0x80000000u, ~0u, f)); // INT32_MIN / -1
    EXPECT_FALSE(idiv<uint64_t>(~0ull, 1ull << 63, ~0ull, f));
    // Truncation toward zero; the remainder takes the dividend's sign.
    auto t = idiv<uint64_t>(~0ull, uint64_t(-7), 2, f);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->quotient, uint64_t(-3));
    EXPECT_EQ(t->remainder, uint64_t(-1));
}

TEST(Alu, BitInstructionsLeaveUndefinedFlags)
{
    const uint64_t flags = kPf | kAf | kZf | kSf | kOf | kOther;
    uint64_t f = flags;
    EXPECT_EQ(bit_test<uint32_t>(BitOp::Bts, 0, 31, f), 0x80000000u);
    EXPECT_EQ(f, flags); // CF = old bit 0; nothing else moves
    f = flags;
    EXPECT_EQ(bit_test<uint16_t>(BitOp::Btc, 0xffff, 3 + 16, f), 0xfff7) << "bit taken mod 16";
    EXPECT_EQ(f, flags | kCf);
    f = kCf | kOf;
    EXPECT_EQ(bsf<uint64_t>(0, 0x1234, f), 0x1234u); // zero source: destination unchanged
    EXPECT_EQ(f, kCf | kOf | kZf);
    EXPECT_EQ(bsr<uint16_t>(0x0100, 7, f), 8);
    EXPECT_EQ(f, kCf | kOf);
    EXPECT_EQ(lzcnt<uint32_t>(0, f), 32u);
    EXPECT_EQ(f & (kCf | kZf), kCf);
    EXPECT_EQ(tzcnt<uint16_t>(1, f), 0);
    EXPECT_EQ(f & (kCf | kZf), kZf);
    f = kArithFlags;
    EXPECT_EQ(popcnt<uint64_t>(0, f), 0u);
    EXPECT_EQ(f & kArithFlags, kZf);
}

TEST(Alu, Bswap)
{
    EXPECT_EQ(bswap<uint32_t>(0x12345678u), 0x78563412u);
    EXPECT_EQ(bswap<uint64_t>(0x0102030405060708ull), 0x0807060504030201ull);
    EXPECT_EQ(bswap<uint16_t>(0x1234), 0); // undefined; what hardware does
}

TEST(Alu, IncDecKeepCarry)
{
    uint64_t f = kCf;
    EXPECT_EQ(inc<uint8_t>(0x7f, f), 0x80);
    EXPECT_EQ(f & kArithFlags, kCf | kOf | kSf | kAf);
    f = 0;
    EXPECT_EQ(dec<uint16_t>(0, f), 0xffff);
    EXPECT_EQ(f & kArithFlags, kSf | kAf | kPf);
    f = 0;
    EXPECT_EQ(neg<uint32_t>(0x80000000u, f), 0x80000000u);
    EXPECT_EQ(f & (kCf | kOf), kCf | kOf);
}

} // namespace
} // namespace xkvm::emu::alu

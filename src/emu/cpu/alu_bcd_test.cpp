// The decimal and ASCII adjustments checked by what they are for: decimal arithmetic. These run
// on every host; alu_diff_bcd_test.cpp also compares them with the CPU where the kernel lets it.
#include "emu/cpu/alu.h"

#include <gtest/gtest.h>

namespace xkvm::emu::alu {
namespace {

uint8_t packed(unsigned v) { return uint8_t((v / 10) << 4 | (v % 10)); }

TEST(AluBcd, DaaAfterAddGivesThePackedDecimalSum)
{
    for (unsigned a = 0; a < 100; ++a)
        for (unsigned b = 0; b < 100; ++b) {
            uint64_t f = 2;
            const uint8_t sum = binop<uint8_t>(BinOp::Add, packed(a), packed(b), f);
            const uint16_t ax = daa(uint16_t(0x3300 | sum), f);
            ASSERT_EQ(ax, 0x3300 | packed((a + b) % 100)) << a << " + " << b;
            EXPECT_EQ(bool(f & kCf), a + b >= 100) << a << " + " << b;
            EXPECT_EQ(bool(f & kZf), (a + b) % 100 == 0);
        }
}

TEST(AluBcd, DasAfterSubGivesThePackedDecimalDifference)
{
    for (unsigned a = 0; a < 100; ++a)
        for (unsigned b = 0; b < 100; ++b) {
            uint64_t f = 2;
            const uint8_t diff = binop<uint8_t>(BinOp::Sub, packed(a), packed(b), f);
            const uint16_t ax = das(diff, f);
            ASSERT_EQ(ax, packed((a + 100 - b) % 100)) << a << " - " << b;
            EXPECT_EQ(bool(f & kCf), a < b) << a << " - " << b;
        }
}

TEST(AluBcd, AaaAasCarryIntoAh)
{
    for (unsigned a = 0; a < 10; ++a)
        for (unsigned b = 0; b < 10; ++b)
            for (unsigned ah : { 0u, 5u, 0xffu }) {
                uint64_t f = 2;
                uint8_t al = binop<uint8_t>(BinOp::Add, uint8_t(a), uint8_t(b), f);
                uint16_t ax = aaa(uint16_t(ah << 8 | al), f);
                EXPECT_EQ(ax, uint16_t((ah + (a + b >= 10)) << 8 | (a + b) % 10)) << a << "+" << b;
                EXPECT_EQ(f & (kCf | kAf), a + b >= 10 ? kCf | kAf : 0);
                f = 2;
                al = binop<uint8_t>(BinOp::Sub, uint8_t(a), uint8_t(b), f);
                ax = aas(uint16_t(ah << 8 | al), f);
                const unsigned borrow = a < b;
                EXPECT_EQ(ax, uint16_t((ah - borrow) % 256 << 8 | (a + 10 - b) % 10))
                    << a << "-" << b;
                EXPECT_EQ(f & (kCf | kAf), a < b ? kCf | kAf : 0);
            }
}

TEST(AluBcd, AamAadConvertBinaryAndDigits)
{
    for (unsigned x = 0; x < 256; ++x) {
        uint64_t f = 2;
        const auto ax = aam(uint16_t(0xab00 | x), 10, f);
        ASSERT_TRUE(ax);
        EXPECT_EQ(*ax, (x / 10) << 8 | (x % 10));
        EXPECT_EQ(bool(f & kZf), x % 10 == 0);
    }
    for (unsigned hi = 0; hi < 10; ++hi)
        for (unsigned lo = 0; lo < 10; ++lo) {
            uint64_t f = 2;
            EXPECT_EQ(aad(uint16_t(hi << 8 | lo), 10, f), hi * 10 + lo);
        }
    uint64_t f = 2;
    EXPECT_FALSE(aam(0x1234, 0, f)) << "AAM 0 raises #DE";
    EXPECT_EQ(aad(0x0203, 16, f), 0x23) << "AAD takes any base";
    EXPECT_EQ(*aam(0x00ff, 16, f), 0x0f0f);
    EXPECT_EQ(f & (kCf | kAf | kOf), 0u); // undefined: cleared
}

} // namespace
} // namespace xkvm::emu::alu

#include "irqchip/msi.h"

#include <gtest/gtest.h>

namespace xkvm::irqchip::test {
namespace {

TEST(Msi, DecodesPhysicalEdge)
{
    auto m = decode_msi(0xfee03000, 0x0041);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->destination, 3u);
    EXPECT_FALSE(m->logical);
    EXPECT_EQ(m->mode, DeliveryMode::Fixed);
    EXPECT_EQ(m->vector, 0x41);
    EXPECT_FALSE(m->level_triggered);
    EXPECT_FALSE(m->x2apic_format);
}

TEST(Msi, DecodesLogicalLowestPriorityLevel)
{
    auto m = decode_msi(0xfee0f00c, 0xc1a2);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->destination, 0x0fu);
    EXPECT_TRUE(m->logical);
    EXPECT_EQ(m->mode, DeliveryMode::LowestPriority);
    EXPECT_EQ(m->vector, 0xa2);
    EXPECT_TRUE(m->level_triggered);
}

TEST(Msi, X2apicDestinationInHighDword)
{
    auto m = decode_msi((0x1200ull << 32) | 0xfee34000, 0x400);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->destination, 0x1234u);
    EXPECT_TRUE(m->x2apic_format);
    EXPECT_EQ(m->mode, DeliveryMode::Nmi);
}

TEST(Msi, RejectsOtherAddressesAndDeasserts)
{
    EXPECT_FALSE(decode_msi(0xfed00000, 0x41));
    EXPECT_FALSE(decode_msi(0, 0x41));
    EXPECT_FALSE(decode_msi(0xfee00000, 0x8041)); // level de-assert
}

} // namespace
} // namespace xkvm::irqchip::test

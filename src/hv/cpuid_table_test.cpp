#include "hv/cpuid_table.h"

#include <gtest/gtest.h>

using namespace xkvm::hv;

TEST(CpuidTable, SetFindReplaceAndRemove)
{
    CpuidTable t;
    t.set(0x40000000, 0, { 0x40000001, 1, 2, 3 });
    t.set(0x40000001, 0, { 7, 0, 0, 0 });
    t.set(0x7, 0, { 1, 0, 0, 0 }, true);
    t.set(0x7, 1, { 2, 0, 0, 0 }, true);
    ASSERT_TRUE(t.get(0x40000000));
    EXPECT_EQ(t.get(0x40000000)->eax, 0x40000001u);
    EXPECT_EQ(t.get(0x7, 1)->eax, 2u);
    EXPECT_EQ(t.get(0x7, 0)->eax, 1u);
    t.set(0x40000000, 0, { 0x40000005, 9, 9, 9 }); // replace, not append
    EXPECT_EQ(t.entries().size(), 4u);
    EXPECT_EQ(t.get(0x40000000)->ebx, 9u);
    t.remove_range(0x40000000, 0x400000ff);
    EXPECT_FALSE(t.get(0x40000000));
    EXPECT_FALSE(t.get(0x40000001));
    EXPECT_EQ(t.entries().size(), 2u);
}

TEST(CpuidTable, LookupAnswersOutOfRangeLeavesAsTheHighestBasicLeaf)
{
    CpuidTable t;
    t.set(0, 0, { 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 });
    t.set(0xd, 0, { 0xdd, 0, 0, 0 }, true);
    t.set(0x80000000, 0, { 0x80000008, 0, 0, 0 });
    EXPECT_EQ(t.lookup(0x20, 0).eax, 0xddu);
    EXPECT_EQ(t.lookup(0x80000001, 0).eax, 0u); // in range, absent: zero
    EXPECT_EQ(t.lookup(0x80000009, 0).eax, 0xddu);
    EXPECT_EQ(t.lookup(0x40000000, 0).eax, 0u); // hypervisor range: zero
}

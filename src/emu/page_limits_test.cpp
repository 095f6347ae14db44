// PageLimits: ranges split, merge and lift as the monitor changes parts of them.
#include <gtest/gtest.h>

#include "emu/page_limits.h"

using xkvm::emu::PageLimits;

TEST(PageLimits, UnlimitedUntilSetAndAfterLifting)
{
    PageLimits l;
    EXPECT_EQ(l.get(5), PageLimits::kAll);
    l.set(4, 4, 1);
    EXPECT_EQ(l.get(3), PageLimits::kAll);
    EXPECT_EQ(l.get(4), 1);
    EXPECT_EQ(l.get(7), 1);
    EXPECT_EQ(l.get(8), PageLimits::kAll);
    l.set(0, 100, PageLimits::kAll);
    EXPECT_EQ(l.get(4), PageLimits::kAll);
    EXPECT_EQ(l.ranges(), 0u);
}

TEST(PageLimits, ChangingTheMiddleSplitsAndRestoringItMerges)
{
    PageLimits l;
    l.set(0, 10, 5);
    l.set(4, 2, 0);
    EXPECT_EQ(l.get(3), 5);
    EXPECT_EQ(l.get(4), 0);
    EXPECT_EQ(l.get(5), 0);
    EXPECT_EQ(l.get(6), 5);
    EXPECT_EQ(l.ranges(), 3u);
    l.set(4, 2, 5);
    EXPECT_EQ(l.ranges(), 1u);
    EXPECT_EQ(l.get(9), 5);
    EXPECT_EQ(l.get(10), PageLimits::kAll);
}

TEST(PageLimits, HugeRangesAreOneEntry)
{
    PageLimits l;
    l.set(0, 1ull << 40, 3);
    l.set(1ull << 39, 1, PageLimits::kAll);
    EXPECT_EQ(l.ranges(), 2u);
    EXPECT_EQ(l.get((1ull << 39) - 1), 3);
    EXPECT_EQ(l.get(1ull << 39), PageLimits::kAll);
    EXPECT_EQ(l.get((1ull << 40) - 1), 3);
}

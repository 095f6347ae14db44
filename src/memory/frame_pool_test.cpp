#include "memory/frame_pool.h"

#include <gtest/gtest.h>

namespace xkvm::memory {
namespace {

using Runs = std::vector<BackingRun>;

TEST(FramePool, ReleaseCoalescesAndRefusesOverlap)
{
    FramePool p;
    EXPECT_TRUE(p.release(0x3000, 0x1000));
    EXPECT_TRUE(p.release(0x1000, 0x1000));
    EXPECT_TRUE(p.release(0x2000, 0x1000)); // joins both neighbours
    EXPECT_FALSE(p.release(0x2000, 0x1000));
    EXPECT_FALSE(p.release(0x0, 0x2000));
    EXPECT_EQ(p.free_bytes(), 0x3000u);
    EXPECT_EQ(p.take(0x3000, 0x1000), Runs({ { 0x1000, 0x3000 } })); // one run: it was coalesced
    EXPECT_EQ(p.free_bytes(), 0u);
}

TEST(FramePool, PrefersAnAlignedRun)
{
    FramePool p;
    ASSERT_TRUE(p.release(0x1000, 0x400000)); // 4 MiB from 4 KiB: one 2 MiB-aligned block inside
    EXPECT_EQ(p.take(0x200000, 0x200000), Runs({ { 0x200000, 0x200000 } }));
    EXPECT_EQ(p.free_bytes(), 0x200000u);
    // No aligned 2 MiB left: a contiguous one, from the first run that holds it.
    EXPECT_EQ(p.take(0x100000, 0x200000), Runs({ { 0x1000, 0x100000 } }));
}

TEST(FramePool, ScattersWhenNothingIsContiguousAndRefusesTooMuch)
{
    FramePool p;
    ASSERT_TRUE(p.release(0, 0x1000));
    ASSERT_TRUE(p.release(0x5000, 0x2000));
    EXPECT_FALSE(p.take(0x4000, 0x1000));
    EXPECT_EQ(p.free_bytes(), 0x3000u); // nothing taken by the refusal
    EXPECT_EQ(p.take(0x2800, 0x1000), Runs({ { 0, 0x1000 }, { 0x5000, 0x1800 } }));
    EXPECT_EQ(p.free_bytes(), 0x800u);
}

} // namespace
} // namespace xkvm::memory

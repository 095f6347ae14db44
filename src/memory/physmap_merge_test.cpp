// Issue 11: a page put back where it was joins its neighbours again, so a guest that moves a page
// around (shared_info) cannot fragment the physmap into more memslots than the host has.
#include "memory/physmap.h"
#include "memory/testing/physmap_recorder.h"

#include <gtest/gtest.h>

using namespace xkvm;
using namespace xkvm::memory;

namespace {

using xkvm::memory::testing::Recorder;

TEST(PhysmapMerge, APagePutBackJoinsBothNeighbours)
{
    auto pm = Physmap::create(16 * kPageSize, "merge").release_value();
    ASSERT_TRUE(pm->map(0, 8 * kPageSize, 0));
    ASSERT_TRUE(pm->unmap(3 * kPageSize, kPageSize));
    ASSERT_EQ(pm->mappings().size(), 2u);
    Recorder rec;
    pm->add_listener(&rec);
    rec.unmapped.clear(), rec.mapped.clear();
    ASSERT_TRUE(pm->map(3 * kPageSize, kPageSize, 3 * kPageSize));
    ASSERT_EQ(pm->mappings().size(), 1u);
    EXPECT_EQ(pm->mappings()[0], (Mapping { 0, 8 * kPageSize, 0, Protection::ReadWrite }));
    // Listeners see the two pieces go and the whole come back.
    EXPECT_EQ(rec.unmapped.size(), 2u);
    ASSERT_EQ(rec.mapped.size(), 1u);
    EXPECT_EQ(rec.mapped[0], (Mapping { 0, 8 * kPageSize, 0, Protection::ReadWrite }));
    pm->remove_listener(&rec);
}

TEST(PhysmapMerge, OnlyWhatContinuesInBothSpacesWithTheSameProtectionJoins)
{
    auto pm = Physmap::create(32 * kPageSize, "merge").release_value();
    ASSERT_TRUE(pm->map(0, 2 * kPageSize, 0));
    ASSERT_TRUE(pm->map(2 * kPageSize, kPageSize, 9 * kPageSize)); // another backing page
    EXPECT_EQ(pm->mappings().size(), 2u);
    ASSERT_TRUE(pm->map(4 * kPageSize, kPageSize, 4 * kPageSize, Protection::ReadOnly));
    ASSERT_TRUE(pm->map(5 * kPageSize, kPageSize, 5 * kPageSize));
    EXPECT_EQ(pm->mappings().size(), 4u);
    ASSERT_TRUE(pm->map(6 * kPageSize, kPageSize, 6 * kPageSize));
    EXPECT_EQ(pm->mappings().size(), 4u); // 5 and 6 joined
    // A thousand moves of one page leave the map as it began.
    for (int i = 0; i < 1000; ++i) {
        uint64_t page = 10 + i % 4;
        ASSERT_TRUE(pm->map(page * kPageSize, kPageSize, page * kPageSize));
        ASSERT_TRUE(pm->unmap(page * kPageSize, kPageSize));
    }
    EXPECT_EQ(pm->mappings().size(), 4u);
}

} // namespace

// What ballooning needs from the physmap: clipped views of what is mapped, punching backing pages
// out, and a listener told when each change is complete.
#include "memory/physmap.h"

#include <gtest/gtest.h>

namespace xkvm::memory {
namespace {

struct CountingListener : PhysmapListener {
    int unmapped = 0, mapped = 0, done = 0;
    void physmap_unmapped(const Mapping&) override { ++unmapped; }
    void physmap_mapped(const Mapping&, uint8_t*) override { ++mapped; }
    void physmap_change_done() override { ++done; }
};

TEST(PhysmapBalloon, MappedInClipsToTheRange)
{
    auto pm = Physmap::create(1 * MiB, "balloon").release_value();
    ASSERT_TRUE(pm->map(0x10000, 0x4000, 0x1000));
    ASSERT_TRUE(pm->map(0x20000, 0x2000, 0x8000, Protection::ReadOnly));
    auto got = pm->mapped_in(0x12000, 0x10000);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], (Mapping { 0x12000, 0x2000, 0x3000, Protection::ReadWrite }));
    EXPECT_EQ(got[1], (Mapping { 0x20000, 0x2000, 0x8000, Protection::ReadOnly }));
    EXPECT_TRUE(pm->mapped_in(0x30000, 0x1000).empty());
}

TEST(PhysmapBalloon, DiscardZeroesTheBackingPages)
{
    auto pm = Physmap::create(1 * MiB, "balloon").release_value();
    ASSERT_TRUE(pm->map(0, 0x4000, 0));
    ASSERT_TRUE(pm->fill(0, 0xab, 0x4000));
    ASSERT_TRUE(pm->discard(0x1000, 0x2000));
    EXPECT_EQ(pm->read_obj<uint8_t>(0x0).value(), 0xab);
    EXPECT_EQ(pm->read_obj<uint8_t>(0x1000).value(), 0);
    EXPECT_EQ(pm->read_obj<uint8_t>(0x2fff).value(), 0);
    EXPECT_EQ(pm->read_obj<uint8_t>(0x3000).value(), 0xab);
    EXPECT_EQ(pm->discard(0x800, 0x1000).error().code, EINVAL);
    EXPECT_EQ(pm->discard(0xff000, 0x2000).error().code, EINVAL);
}

TEST(PhysmapBalloon, ListenersHearWhenAChangeIsComplete)
{
    auto pm = Physmap::create(1 * MiB, "balloon").release_value();
    ASSERT_TRUE(pm->map(0, 0x10000, 0));
    CountingListener l;
    pm->add_listener(&l); // the replay is a change too
    EXPECT_EQ(l.mapped, 1);
    EXPECT_EQ(l.done, 1);
    ASSERT_TRUE(pm->unmap(0x4000, 0x1000)); // one entry out, two pieces back, then done
    EXPECT_EQ(l.unmapped, 1);
    EXPECT_EQ(l.mapped, 3);
    EXPECT_EQ(l.done, 2);
    pm->remove_listener(&l);
}

} // namespace
} // namespace xkvm::memory

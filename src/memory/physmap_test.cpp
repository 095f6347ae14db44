#include "memory/physmap.h"
#include "memory/testing/physmap_recorder.h"

#include <gtest/gtest.h>

using namespace xkvm;
using namespace xkvm::memory;

namespace {

using xkvm::memory::testing::Recorder;

std::unique_ptr<Physmap> make(uint64_t bytes = 16 * kPageSize)
{
    auto pm = Physmap::create(bytes, "test");
    EXPECT_TRUE(pm) << pm.error().message;
    return pm.release_value();
}

} // namespace

TEST(Physmap, RejectsBadSizes)
{
    EXPECT_EQ(Physmap::create(0, "x").error().code, EINVAL);
    EXPECT_EQ(Physmap::create(100, "x").error().code, EINVAL);
}

TEST(Physmap, MapReadWriteRoundTrip)
{
    auto pm = make();
    ASSERT_TRUE(pm->map(0x10000, 4 * kPageSize, 0));
    uint32_t v = 0xdeadbeef;
    ASSERT_TRUE(pm->write_obj(0x10ffe, v)); // crosses a page inside one mapping
    auto back = pm->read_obj<uint32_t>(0x10ffe);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, v);
    EXPECT_EQ(std::memcmp(pm->host_base() + 0xffe, &v, 4), 0);
}

TEST(Physmap, UnmappedAndWrappingAccessFault)
{
    auto pm = make();
    ASSERT_TRUE(pm->map(0, 2 * kPageSize, 0));
    EXPECT_EQ(pm->read_obj<uint64_t>(2 * kPageSize - 4).error().code, EFAULT); // runs off the end
    EXPECT_EQ(pm->read_obj<uint8_t>(0x100000).error().code, EFAULT);
    uint8_t buf[16];
    EXPECT_EQ(pm->read(~0ull - 4, buf).error().code, EFAULT);
    EXPECT_EQ(pm->host_range(~0ull - 4, 16, false).error().code, EFAULT);
}

TEST(Physmap, RejectsOverlapAndOutOfBacking)
{
    auto pm = make(4 * kPageSize);
    ASSERT_TRUE(pm->map(0, 2 * kPageSize, 0));
    EXPECT_EQ(pm->map(kPageSize, kPageSize, 2 * kPageSize).error().code, EEXIST);
    EXPECT_EQ(pm->map(0x100000, 2 * kPageSize, 3 * kPageSize).error().code, EINVAL);
    EXPECT_EQ(pm->map(0x100001, kPageSize, 0).error().code, EINVAL);
}

TEST(Physmap, CrossMappingCopyButNotContiguousHostRange)
{
    auto pm = make(8 * kPageSize);
    // Two guest-adjacent mappings whose backing is not adjacent.
    ASSERT_TRUE(pm->map(0, kPageSize, 4 * kPageSize));
    ASSERT_TRUE(pm->map(kPageSize, kPageSize, 0));
    uint64_t v = 0x1122334455667788;
    ASSERT_TRUE(pm->write_obj(kPageSize - 3, v));
    EXPECT_EQ(pm->read_obj<uint64_t>(kPageSize - 3).value(), v);
    EXPECT_EQ(pm->host_range(kPageSize - 3, 8, false).error().code, EFAULT);
    EXPECT_TRUE(pm->host_range(kPageSize - 8, 8, false));
}

TEST(Physmap, UnmapSplitsAndNotifies)
{
    auto pm = make();
    Recorder rec;
    ASSERT_TRUE(pm->map(0, 8 * kPageSize, 0));
    pm->add_listener(&rec);
    ASSERT_EQ(rec.mapped.size(), 1u); // replayed on subscription
    rec.clear();

    ASSERT_TRUE(pm->unmap(3 * kPageSize, kPageSize));
    ASSERT_EQ(rec.unmapped.size(), 1u);
    EXPECT_EQ(rec.unmapped[0], (Mapping { 0, 8 * kPageSize, 0, Protection::ReadWrite }));
    ASSERT_EQ(rec.mapped.size(), 2u);
    EXPECT_EQ(rec.mapped[0], (Mapping { 0, 3 * kPageSize, 0, Protection::ReadWrite }));
    EXPECT_EQ(rec.mapped[1], (Mapping { 4 * kPageSize, 4 * kPageSize, 4 * kPageSize, Protection::ReadWrite }));
    EXPECT_FALSE(pm->is_mapped(3 * kPageSize));
    EXPECT_TRUE(pm->is_mapped(4 * kPageSize));

    // Put a different backing page in the hole, as XENMEM_add_to_physmap does.
    rec.clear();
    ASSERT_TRUE(pm->map(3 * kPageSize, kPageSize, 12 * kPageSize));
    ASSERT_EQ(rec.mapped.size(), 1u);
    EXPECT_TRUE(rec.unmapped.empty());
    EXPECT_EQ(pm->mappings().size(), 3u);
    pm->remove_listener(&rec);
}

TEST(Physmap, UnmapOfHoleIsQuiet)
{
    auto pm = make();
    Recorder rec;
    pm->add_listener(&rec);
    ASSERT_TRUE(pm->unmap(0, 4 * kPageSize));
    EXPECT_TRUE(rec.unmapped.empty());
    EXPECT_TRUE(rec.mapped.empty());
}

TEST(Physmap, ProtectMakesReadOnlyAndBack)
{
    auto pm = make();
    Recorder rec;
    ASSERT_TRUE(pm->map(0, 4 * kPageSize, 0));
    pm->add_listener(&rec);
    rec.clear();
    ASSERT_TRUE(pm->protect(kPageSize, kPageSize, Protection::ReadOnly));
    EXPECT_EQ(rec.unmapped.size(), 1u);
    ASSERT_EQ(rec.mapped.size(), 3u);
    EXPECT_EQ(rec.mapped[1].prot, Protection::ReadOnly);
    uint8_t b = 1;
    EXPECT_EQ(pm->write_obj(kPageSize + 5, b).error().code, EFAULT);
    EXPECT_TRUE(pm->read_obj<uint8_t>(kPageSize + 5));
    EXPECT_EQ(pm->host_range(kPageSize, 1, true).error().code, EFAULT);
    EXPECT_TRUE(pm->write_obj(0, b));

    rec.clear();
    ASSERT_TRUE(pm->protect(kPageSize, kPageSize, Protection::ReadWrite));
    ASSERT_EQ(rec.unmapped.size(), 1u);
    ASSERT_EQ(rec.mapped.size(), 1u);
    EXPECT_EQ(rec.mapped[0].prot, Protection::ReadWrite);
    EXPECT_TRUE(pm->write_obj(kPageSize + 5, b));
    pm->remove_listener(&rec);
}

#include "iommu/physmap_mirror.h"

#include <gtest/gtest.h>

#include <vector>

namespace xkvm::iommu {
namespace {

using memory::MiB;
using memory::Protection;

struct MirrorTest : ::testing::Test {
    std::unique_ptr<memory::Physmap> pm;
    std::unique_ptr<Context> dma;
    std::unique_ptr<PhysmapMirror> mirror;

    void SetUp() override
    {
        pm = memory::Physmap::create(16 * MiB, "mirror-test").release_value();
        ContextOptions o;
        o.memory = std::span(pm->host_base(), pm->backing_size());
        o.caching_mode = true;
        dma = Context::create(o).release_value();
        mirror = std::make_unique<PhysmapMirror>(*dma);
        pm->add_listener(mirror.get());
    }
    void TearDown() override { pm->remove_listener(mirror.get()); }

    // A guest the way the VMM builds one: low RAM, RAM above 1 MiB, under the bulk guard.
    void build()
    {
        {
            ScopedNoFlush guard;
            ASSERT_TRUE(pm->map(0, 0x9f000, 0));
            ASSERT_TRUE(pm->map(0x100000, 12 * MiB, 0x9f000));
            ASSERT_TRUE(pm->map(0x40000000, 2 * MiB, 14 * MiB)); // aligned: one 2 MiB leaf
        }
        ASSERT_TRUE(dma->flush_all());
    }
    void expect_in_step()
    {
        auto st = verify_dma_space(*dma, *pm);
        EXPECT_TRUE(st) << st.error().message;
        EXPECT_TRUE(mirror->status());
        EXPECT_EQ(dma->audit_iotlb(), 0u);
    }
};

TEST_F(MirrorTest, DomainBuildFlushesOnce)
{
    build();
    expect_in_step();
    EXPECT_EQ(dma->stats().flushes(), 1u);
    EXPECT_GT(dma->stats().suppressed, 3u);
    EXPECT_EQ(dma->lookup(0x40000).value().order, 9u);
    EXPECT_EQ(dma->lookup(0x40000).value().base_mfn, (14 * MiB) >> 12);
}

TEST_F(MirrorTest, DmaSeesGuestMemory)
{
    build();
    ASSERT_TRUE(pm->write_obj<uint64_t>(0x200010, 0x1122334455667788));
    uint64_t v = 0;
    ASSERT_TRUE(dma->dma_read(0x200010, std::span(reinterpret_cast<uint8_t*>(&v), 8)).ok());
    EXPECT_EQ(v, 0x1122334455667788u);
    uint32_t w = 0xfeedface;
    ASSERT_TRUE(dma->dma_write(0x9e000, std::span(reinterpret_cast<const uint8_t*>(&w), 4)).ok());
    EXPECT_EQ(pm->read_obj<uint32_t>(0x9e000).value(), 0xfeedfaceu);
    EXPECT_EQ(dma->dma_read(0x9f000, std::span(reinterpret_cast<uint8_t*>(&v), 8)).fault, DmaFault::NotPresent);
}

TEST_F(MirrorTest, ChangesFollowThePhysmap)
{
    build();
    uint8_t b = 0;
    EXPECT_TRUE(dma->dma_read(0x300000, std::span(&b, 1)).ok()); // cached before each change
    EXPECT_TRUE(dma->dma_read(0x302000, std::span(&b, 1)).ok());
    auto ops = dma->stats().operations;
    auto hits = dma->iotlb_stats().hits;
    ASSERT_TRUE(pm->unmap(0x300000, 0x2000));
    expect_in_step();
    // The physmap told the whole 12 MiB entry going and two pieces coming back; the DMA space saw
    // one unmap of the two pages, and the neighbour's cached translation survived it.
    EXPECT_EQ(dma->stats().operations, ops + 1);
    EXPECT_TRUE(dma->dma_read(0x302000, std::span(&b, 1)).ok());
    EXPECT_EQ(dma->iotlb_stats().hits, hits + 1);
    EXPECT_EQ(dma->dma_read(0x300000, std::span(&b, 1)).fault, DmaFault::NotPresent);

    EXPECT_TRUE(dma->dma_write(0x500000, std::span<const uint8_t>(&b, 1)).ok());
    ASSERT_TRUE(pm->protect(0x500000, 0x1000, Protection::ReadOnly));
    expect_in_step();
    EXPECT_EQ(dma->dma_write(0x500000, std::span<const uint8_t>(&b, 1)).fault, DmaFault::NotWritable);
    EXPECT_TRUE(dma->dma_read(0x500000, std::span(&b, 1)).ok());

    // A page moving, as shared_info does on XENMAPSPACE_shared_info: gone here, there now.
    ASSERT_TRUE(pm->unmap(0x400000, 0x1000));
    ASSERT_TRUE(pm->map(0xfe000000, 0x1000, 15 * MiB));
    expect_in_step();
    EXPECT_EQ(dma->lookup(0xfe000).value().mfn_of(0xfe000), (15 * MiB) >> 12);
}

TEST_F(MirrorTest, VerifyFindsDifferences)
{
    build();
    ASSERT_TRUE(dma->map(0x80000, 0, 0, kRead)); // behind the physmap's back
    EXPECT_EQ(verify_dma_space(*dma, *pm).error().code, EIO);
    ASSERT_TRUE(dma->unmap(0x80000, 0));
    ASSERT_TRUE(dma->unmap(0x150, 0));
    EXPECT_EQ(verify_dma_space(*dma, *pm).error().code, EIO);
    ASSERT_TRUE(dma->map(0x150, 0x151, 0, kReadWrite)); // the wrong frame
    EXPECT_EQ(verify_dma_space(*dma, *pm).error().code, EIO);
}

TEST_F(MirrorTest, AFailedMirrorIsRecorded)
{
    build();
    dma->set_table_limit(dma->table_count());
    EXPECT_TRUE(pm->map(0x80000000, 0x1000, 15 * MiB)); // needs new tables the DMA space cannot have
    EXPECT_FALSE(mirror->status());
    EXPECT_EQ(mirror->status().error().code, ENOMEM);
}

TEST(AlignedPieces, LargestAlignedBlocks)
{
    std::vector<std::pair<Dfn, unsigned>> got;
    auto collect = [&](Dfn d, Mfn, unsigned o) { got.emplace_back(d, o); };
    for_each_aligned_piece(0x100, 0x9f, 0x300, collect); // frames only 1-aligned
    EXPECT_EQ(got.size(), 0x300u);
    got.clear();
    for_each_aligned_piece(0x100, std::nullopt, 0x300, collect);
    EXPECT_EQ(got, (std::vector<std::pair<Dfn, unsigned>> { { 0x100, 8 }, { 0x200, 9 } }));
    got.clear();
    for_each_aligned_piece(0, 0x40000, 0x40001, collect);
    EXPECT_EQ(got, (std::vector<std::pair<Dfn, unsigned>> { { 0, 18 }, { 0x40000, 0 } }));
}

} // namespace
} // namespace xkvm::iommu

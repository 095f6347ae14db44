#include "iommu/context.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace xkvm::iommu {
namespace {

struct ContextTest : ::testing::Test {
    std::vector<uint8_t> memory = std::vector<uint8_t>(2048 * kPageSize); // 8 MiB of frames
    std::unique_ptr<Context> ctx;

    void SetUp() override { make(false); }
    void make(bool caching, FlushPolicy policy = FlushPolicy::PerOperation, bool superpages = true)
    {
        ContextOptions o;
        o.memory = memory;
        o.caching_mode = caching;
        o.policy = policy;
        o.superpages = superpages;
        ctx = Context::create(o).release_value();
    }
    FlushRecord last() { return ctx->last_flush().value(); }
    DmaFault read_at(uint64_t addr)
    {
        uint8_t b[8];
        return ctx->dma_read(addr, b).fault;
    }
};

TEST_F(ContextTest, AddedCostsNothingWithoutCachingMode)
{
    ASSERT_TRUE(ctx->map(16, 16, 0, kReadWrite));
    EXPECT_EQ(last().kind, FlushKind::Added);
    EXPECT_EQ(last().scope, FlushScope::Elided);
    EXPECT_EQ(ctx->stats().flushes(), 0u);
    EXPECT_EQ(ctx->stats().elided_added, 1u);
}

TEST_F(ContextTest, AddedFlushesInCachingMode)
{
    make(true);
    EXPECT_EQ(read_at(16 * kPageSize), DmaFault::NotPresent); // caches "not present"
    ASSERT_TRUE(ctx->map(16, 16, 0, kReadWrite));
    EXPECT_EQ(last().kind, FlushKind::Added);
    EXPECT_EQ(last().scope, FlushScope::PageSelective);
    EXPECT_EQ(read_at(16 * kPageSize), DmaFault::None);
    EXPECT_EQ(ctx->audit_iotlb(), 0u);
}

TEST_F(ContextTest, ModifiedFlushesAndDmaSeesTheNewFrame)
{
    memory[16 * kPageSize] = 0xaa;
    memory[17 * kPageSize] = 0xbb;
    ASSERT_TRUE(ctx->map(4, 16, 0, kReadWrite));
    uint8_t b = 0;
    ASSERT_TRUE(ctx->dma_read(4 * kPageSize, std::span(&b, 1)).ok());
    EXPECT_EQ(b, 0xaa);
    ASSERT_TRUE(ctx->map(4, 17, 0, kReadWrite)); // remap: the IOTLB holds the old frame
    EXPECT_EQ(last().kind, FlushKind::Modified);
    EXPECT_EQ(last().scope, FlushScope::PageSelective);
    ASSERT_TRUE(ctx->dma_read(4 * kPageSize, std::span(&b, 1)).ok());
    EXPECT_EQ(b, 0xbb);
}

TEST_F(ContextTest, RemappingTheSameEntryNeedsNoFlush)
{
    ASSERT_TRUE(ctx->map(512, 512, 9, kRead));
    ASSERT_TRUE(ctx->map(512, 512, 9, kRead));
    EXPECT_EQ(last().kind, FlushKind::None);
    EXPECT_EQ(ctx->stats().elided_none, 1u);
}

TEST_F(ContextTest, OneFlushPerOperationOfTheStrongestKind)
{
    make(true, FlushPolicy::PerOperation, false); // 4 KiB entries only: 512 of them
    ASSERT_TRUE(ctx->map(1024, 0, 0, kRead));     // one page present already
    auto before = ctx->stats().flushes();
    ASSERT_TRUE(ctx->map(1024, 512, 9, kReadWrite));
    EXPECT_EQ(ctx->stats().flushes(), before + 1);
    EXPECT_EQ(last().kind, FlushKind::Modified);
    EXPECT_EQ(last().dfn, 1024u);
    EXPECT_EQ(last().count, 512u);
    EXPECT_EQ(last().scope, FlushScope::PageSelective);
}

TEST_F(ContextTest, EveryPagePolicyFlushesEachEntry)
{
    make(false, FlushPolicy::EveryPage, false);
    ASSERT_TRUE(ctx->map(1024, 512, 9, kReadWrite));
    EXPECT_EQ(ctx->stats().flushes(), 512u);
    ASSERT_TRUE(ctx->unmap(1024, 9));
    EXPECT_EQ(ctx->stats().flushes(), 1024u);
}

TEST_F(ContextTest, UnmapFlushesModifiedAndUnmappedRangesNothing)
{
    ASSERT_TRUE(ctx->map(0, 0, 9, kReadWrite));
    EXPECT_EQ(read_at(100 * kPageSize), DmaFault::None);
    ASSERT_TRUE(ctx->unmap(0, 9));
    EXPECT_EQ(last().kind, FlushKind::Modified);
    EXPECT_EQ(read_at(100 * kPageSize), DmaFault::NotPresent);
    ASSERT_TRUE(ctx->unmap(4096, 9));
    EXPECT_EQ(last().kind, FlushKind::None);
}

TEST_F(ContextTest, UnmapInsideASuperpageEvictsTheCachedSuperpage)
{
    ASSERT_TRUE(ctx->map(512, 512, 9, kReadWrite));
    EXPECT_EQ(read_at(513 * kPageSize), DmaFault::None); // caches the 2 MiB leaf
    ASSERT_TRUE(ctx->unmap(700, 0));
    EXPECT_EQ(last().kind, FlushKind::Modified);
    EXPECT_EQ(read_at(700 * kPageSize), DmaFault::NotPresent);
    EXPECT_EQ(read_at(701 * kPageSize), DmaFault::None);
    EXPECT_EQ(ctx->audit_iotlb(), 0u);
}

TEST_F(ContextTest, OddRangesFlushDomainWide)
{
    ctx->flush(3, 3, FlushKind::Modified);
    EXPECT_EQ(last().scope, FlushScope::DomainWide);
    ctx->flush(6, 4, FlushKind::Modified); // power of two but not aligned
    EXPECT_EQ(last().scope, FlushScope::DomainWide);
    ctx->flush(8, 4, FlushKind::Modified);
    EXPECT_EQ(last().scope, FlushScope::PageSelective);
}

TEST_F(ContextTest, BulkGuardSuppressesFlushesUntilFlushAll)
{
    make(true);
    EXPECT_EQ(read_at(0), DmaFault::NotPresent);
    {
        ScopedNoFlush guard;
        ScopedNoFlush nested;
        for (Dfn d = 0; d < 64; ++d)
            ASSERT_TRUE(ctx->map(d, d, 0, kReadWrite));
    }
    EXPECT_FALSE(ScopedNoFlush::active());
    EXPECT_EQ(ctx->stats().flushes(), 0u);
    EXPECT_EQ(ctx->stats().suppressed, 64u);
    // The instrument sees the missing flush: the cached "not present" for page 0 is stale now.
    EXPECT_EQ(ctx->audit_iotlb(), 1u);
    EXPECT_EQ(read_at(0), DmaFault::NotPresent);
    ASSERT_TRUE(ctx->flush_all());
    EXPECT_EQ(ctx->audit_iotlb(), 0u);
    EXPECT_EQ(read_at(0), DmaFault::None);
    EXPECT_EQ(ctx->stats().flushes(), 1u);
}

TEST_F(ContextTest, TheGuardIsPerThread)
{
    ScopedNoFlush guard;
    bool other = true;
    std::thread([&] { other = ScopedNoFlush::active(); }).join();
    EXPECT_FALSE(other);
    EXPECT_TRUE(ScopedNoFlush::active());
}

TEST_F(ContextTest, AFailedMapUndoesItselfAndFlushesAll)
{
    make(false, FlushPolicy::PerOperation, false);
    ASSERT_TRUE(ctx->map(100, 7, 0, kRead)); // an older mapping inside the range, and one outside
    ASSERT_TRUE(ctx->map(5000, 9, 0, kRead));
    EXPECT_EQ(read_at(5000 * kPageSize), DmaFault::None);
    ctx->set_table_limit(ctx->table_count()); // the first 2 MiB has its table, the second needs one
    auto st = ctx->map(0, 0, 10, kReadWrite);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ENOMEM);
    EXPECT_EQ(last().scope, FlushScope::DomainWide);
    for (Dfn d : { 0ull, 100ull, 511ull, 512ull, 1023ull })
        EXPECT_FALSE(ctx->lookup(d)) << d;
    EXPECT_EQ(ctx->lookup(5000)->mfn_of(5000), 9u); // outside the failed call: untouched
    EXPECT_EQ(ctx->audit_iotlb(), 0u);
    EXPECT_EQ(read_at(100 * kPageSize), DmaFault::NotPresent);
    EXPECT_EQ(read_at(5000 * kPageSize), DmaFault::None);
}

TEST_F(ContextTest, RefusesMalformedRequests)
{
    EXPECT_EQ(ctx->map(1, 0, 9, kRead).error().code, EINVAL);          // dfn misaligned for the order
    EXPECT_EQ(ctx->map(0, 3, 9, kRead).error().code, EINVAL);          // mfn misaligned
    EXPECT_EQ(ctx->map(0, 0, kMaxOrder + 1, kRead).error().code, EINVAL);
    EXPECT_EQ(ctx->map(0, 0, 0, 0).error().code, EINVAL);              // no permission
    EXPECT_EQ(ctx->map(0, 0, 0, 4).error().code, EINVAL);              // unknown permission bit
    EXPECT_EQ(ctx->map(1ull << 36, 0, 0, kRead).error().code, ERANGE); // dfn beyond the width
    EXPECT_EQ(ctx->map((1ull << 36) - 512, 0, 10, kRead).error().code, EINVAL);
    EXPECT_TRUE(ctx->map((1ull << 36) - 512, 0, 9, kRead)); // the last 2 MiB
    EXPECT_EQ(ctx->map(0, 1ull << 40, 0, kRead).error().code, ERANGE);
    EXPECT_EQ(ctx->unmap(~0ull, 0).error().code, ERANGE);
    EXPECT_TRUE(ctx->unmap(16, 4));
    EXPECT_EQ(ctx->unmap(8, 4).error().code, EINVAL);
    EXPECT_EQ(ctx->unmap(8, 40).error().code, EINVAL);
    EXPECT_EQ(ctx->stats().operations, 2u); // only the two valid calls got as far as the tables
}

TEST_F(ContextTest, DmaFaultsAreValues)
{
    ASSERT_TRUE(ctx->map(1, 1, 0, kRead));
    ASSERT_TRUE(ctx->map(2, 4095, 0, kReadWrite)); // beyond the 2048 frames of memory
    ASSERT_TRUE(ctx->map(3, 3, 0, kWrite));
    uint8_t b[16] = {};
    EXPECT_EQ(ctx->dma_write(kPageSize + 8, b).fault, DmaFault::NotWritable);
    EXPECT_EQ(ctx->dma_read(kPageSize + 8, b).fault, DmaFault::None);
    EXPECT_EQ(ctx->dma_read(2 * kPageSize, b).fault, DmaFault::BadFrame);
    EXPECT_EQ(ctx->dma_read(3 * kPageSize, b).fault, DmaFault::NotReadable);
    EXPECT_EQ(ctx->dma_write(3 * kPageSize, b).fault, DmaFault::None);
    auto cross = ctx->dma_read(2 * kPageSize - 8, b); // starts readable, runs into the bad frame
    EXPECT_EQ(cross.fault, DmaFault::BadFrame);
    EXPECT_EQ(cross.address, 2 * kPageSize);
    EXPECT_EQ(ctx->dma_read(~0ull - 4, b).fault, DmaFault::OutOfRange); // wraps
    EXPECT_EQ(ctx->dma_read(1ull << 48, b).fault, DmaFault::OutOfRange);
    EXPECT_EQ(ctx->dma_read(5 * kPageSize, b).fault, DmaFault::NotPresent);
    EXPECT_TRUE(ctx->dma_read(5 * kPageSize, std::span<uint8_t>()).ok()); // nothing to move
    EXPECT_EQ(ctx->stats().dma_faults, 7u);
}

TEST_F(ContextTest, SwitchingCachingModeEmptiesTheIotlb)
{
    make(true);
    EXPECT_EQ(read_at(0), DmaFault::NotPresent);
    ctx->set_caching_mode(false);
    EXPECT_FALSE(ctx->caching_mode());
    ASSERT_TRUE(ctx->map(0, 0, 0, kRead)); // Added, elided now: safe only because the switch emptied it
    EXPECT_EQ(read_at(0), DmaFault::None);
    EXPECT_EQ(ctx->audit_iotlb(), 0u);
}

} // namespace
} // namespace xkvm::iommu

#include "iommu/page_table.h"

#include <gtest/gtest.h>

namespace xkvm::iommu {
namespace {

FlushKind set(IoPageTable& t, Dfn dfn, Mfn mfn, unsigned order, unsigned perms = kReadWrite, bool merge = true)
{
    auto r = t.set_leaf(dfn, mfn, order, perms, merge);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : FlushKind::None;
}

TEST(IoPageTable, KindsOfALeafChange)
{
    IoPageTable t;
    EXPECT_EQ(set(t, 5, 100, 0), FlushKind::Added);
    EXPECT_EQ(set(t, 5, 100, 0), FlushKind::None); // the same entry again
    EXPECT_EQ(set(t, 5, 101, 0), FlushKind::Modified);
    EXPECT_EQ(set(t, 5, 101, 0, kRead), FlushKind::Modified);
    EXPECT_EQ(*t.clear(5, 0), FlushKind::Modified);
    EXPECT_EQ(*t.clear(5, 0), FlushKind::None); // nothing there
    EXPECT_EQ(*t.clear(1ull << 30, 18), FlushKind::None);
    EXPECT_FALSE(t.lookup(5));
}

TEST(IoPageTable, SuperpagesAndLookup)
{
    IoPageTable t;
    EXPECT_EQ(set(t, 1ull << 18, 1ull << 19, 18), FlushKind::Added);
    EXPECT_EQ(set(t, 512, 4096, 9, kRead), FlushKind::Added);
    auto g = t.lookup((1ull << 18) + 12345);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->order, 18u);
    EXPECT_EQ(g->base_dfn, 1ull << 18);
    EXPECT_EQ(g->mfn_of((1ull << 18) + 12345), (1ull << 19) + 12345);
    auto m = t.lookup(512 + 7);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->order, 9u);
    EXPECT_EQ(m->perms, unsigned(kRead));
    EXPECT_EQ(m->mfn_of(519), 4103u);
    EXPECT_FALSE(t.lookup(511));
    EXPECT_FALSE(t.lookup(1ull << 36)); // beyond the width
}

TEST(IoPageTable, MappingInsideASuperpageSplitsIt)
{
    IoPageTable t;
    set(t, 0, 1ull << 18, 18);
    EXPECT_EQ(set(t, 1000, 7, 0), FlushKind::Modified);
    EXPECT_EQ(t.lookup(1000)->mfn_of(1000), 7u);
    EXPECT_EQ(t.lookup(1000)->order, 0u);
    // The rest keeps its translation, in 2 MiB and 4 KiB pieces now.
    EXPECT_EQ(t.lookup(999)->mfn_of(999), (1ull << 18) + 999);
    EXPECT_EQ(t.lookup(1001)->order, 0u);
    EXPECT_EQ(t.lookup(5000)->order, 9u);
    EXPECT_EQ(t.lookup(5000)->mfn_of(5000), (1ull << 18) + 5000);
    auto far = t.lookup(200000); // another 2 MiB piece of the old gigabyte
    ASSERT_TRUE(far);
    EXPECT_EQ(far->order, 9u);
    EXPECT_EQ(far->mfn_of(200000), (1ull << 18) + 200000);
    EXPECT_FALSE(t.lookup(300000)); // beyond it: never mapped
}

TEST(IoPageTable, UnmappingInsideASuperpageSplitsIt)
{
    IoPageTable t;
    set(t, 512, 1024, 9);
    EXPECT_EQ(*t.clear(600, 0), FlushKind::Modified);
    EXPECT_FALSE(t.lookup(600));
    EXPECT_EQ(t.lookup(601)->mfn_of(601), 1113u);
    EXPECT_EQ(t.lookup(599)->order, 0u);
}

TEST(IoPageTable, ContiguousPagesMergeIntoASuperpage)
{
    IoPageTable t;
    for (Dfn d = 0; d < 511; ++d)
        EXPECT_EQ(set(t, 512 + d, 2048 + d, 0), FlushKind::Added);
    size_t tables = t.table_count();
    EXPECT_EQ(set(t, 512 + 511, 2048 + 511, 0), FlushKind::Modified); // the merge
    EXPECT_EQ(t.lookup(700)->order, 9u);
    EXPECT_EQ(t.lookup(700)->mfn_of(700), 2048u + 188);
    EXPECT_EQ(t.table_count(), tables - 1);
}

TEST(IoPageTable, NoMergeWhenNotContiguousOrMisaligned)
{
    IoPageTable t;
    for (Dfn d = 0; d < 512; ++d)
        set(t, d, 1 + d, 0); // frames contiguous but not 2 MiB aligned
    EXPECT_EQ(t.lookup(3)->order, 0u);
    for (Dfn d = 0; d < 512; ++d)
        set(t, 512 + d, 1024 + d, 0, d == 100 ? kRead : kReadWrite);
    EXPECT_EQ(t.lookup(600)->order, 0u);
    for (Dfn d = 0; d < 512; ++d)
        set(t, 1024 + d, 1024 + d, 0, kReadWrite, false); // merging off
    EXPECT_EQ(t.lookup(1100)->order, 0u);
}

TEST(IoPageTable, MergeCascadesToOneGigabyte)
{
    IoPageTable t;
    for (Dfn d = 0; d < 512; ++d)
        set(t, d * 512, d * 512, 9);
    EXPECT_EQ(t.lookup(123456)->order, 18u);
}

TEST(IoPageTable, ASuperpageOverATableReplacesIt)
{
    IoPageTable t;
    set(t, 3, 3, 0);
    size_t tables = t.table_count();
    EXPECT_EQ(set(t, 0, 4096, 9), FlushKind::Modified);
    EXPECT_EQ(t.lookup(3)->mfn_of(3), 4099u);
    EXPECT_EQ(t.table_count(), tables - 1);
}

TEST(IoPageTable, RefusesBadLeaves)
{
    IoPageTable t;
    EXPECT_FALSE(t.set_leaf(1, 0, 9, kRead, true));  // misaligned dfn
    EXPECT_FALSE(t.set_leaf(0, 1, 9, kRead, true));  // misaligned mfn
    EXPECT_FALSE(t.set_leaf(0, 0, 5, kRead, true));  // no leaf of that size
    EXPECT_FALSE(t.set_leaf(0, 0, 0, 0, true));      // no permission
    EXPECT_FALSE(t.clear(3, 9));
}

TEST(IoPageTable, TableLimitFailsWithoutChange)
{
    IoPageTable t;
    t.set_table_limit(t.table_count());
    auto r = t.set_leaf(0, 0, 0, kRead, true);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOMEM);
    EXPECT_FALSE(t.lookup(0));
}

TEST(IoPageTable, ForEachLeafInARange)
{
    IoPageTable t;
    set(t, 0, 0, 9);
    set(t, 1024, 7, 0);
    set(t, 1ull << 18, 1ull << 18, 18);
    std::vector<Translation> seen;
    t.for_each_leaf([&](const Translation& tr) { seen.push_back(tr); }, 500, 600);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].base_dfn, 0u);
    EXPECT_EQ(seen[1].base_dfn, 1024u);
    seen.clear();
    t.for_each_leaf([&](const Translation& tr) { seen.push_back(tr); });
    EXPECT_EQ(seen.size(), 3u);
}

// A range walk reads only the entries overlapping its range: it must still find exactly the leaves
// a whole walk finds that overlap it, at every level's boundaries.
TEST(IoPageTable, ARangeWalkFindsWhatAWholeWalkFindsInThatRange)
{
    IoPageTable t;
    const Dfn bases[] = { 0, 511, 512, 1024, (1ull << 18) - 1, 1ull << 18, (1ull << 27) + 3, (1ull << 30) + (1ull << 18) };
    for (Dfn b : bases) {
        bool super = b % 512 == 0 && b >= (1ull << 18);
        set(t, b, super ? 512 : 1, super ? 9 : 0);
    }
    std::vector<Translation> all;
    t.for_each_leaf([&](const Translation& tr) { all.push_back(tr); });
    ASSERT_EQ(all.size(), std::size(bases));
    auto overlapping = [&](Dfn first, uint64_t count) {
        std::vector<Dfn> out;
        for (auto& tr : all)
            if (tr.base_dfn < first + count && first < tr.base_dfn + (1ull << tr.order))
                out.push_back(tr.base_dfn);
        return out;
    };
    for (Dfn b : bases)
        for (int64_t d : { -513, -512, -1, 0, 1, 511, 512 })
            for (uint64_t count : { 1ull, 2ull, 512ull, 513ull, 1ull << 18 }) {
                Dfn first = static_cast<Dfn>(std::max<int64_t>(0, static_cast<int64_t>(b) + d));
                std::vector<Dfn> got;
                t.for_each_leaf([&](const Translation& tr) { got.push_back(tr.base_dfn); }, first, count);
                EXPECT_EQ(got, overlapping(first, count)) << "first " << first << " count " << count;
            }
}

} // namespace
} // namespace xkvm::iommu

// Multi-level I/O page tables of one DMA address space: 4 levels of 512 entries, leaves of 4 KiB at
// the bottom and, where alignment allows, 2 MiB and 1 GiB superpages one and two levels up.
//
// Each primitive changes one leaf and says which IOTLB flush the change needs; it never flushes.
// The caller (Context) combines the kinds of an operation and flushes once.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "iommu/types.h"

namespace xkvm::iommu {

class IoPageTable {
public:
    IoPageTable();

    // Install a leaf of `order` (0, 9 or 18; dfn and mfn aligned to it) at dfn. A larger leaf in the
    // way is split; a table below the leaf's level is replaced (a merge). With `merge` set, a table
    // that becomes 512 contiguous leaves of one permission is folded into a superpage.
    // ENOMEM when a table is needed beyond the limit (nothing is changed then).
    Result<FlushKind> set_leaf(Dfn dfn, Mfn mfn, unsigned order, unsigned perms, bool merge);
    // Remove everything in the `order`-sized aligned block at dfn, splitting a larger leaf around it.
    Result<FlushKind> clear(Dfn dfn, unsigned order);
    std::optional<Translation> lookup(Dfn dfn) const;

    // Every present leaf that overlaps [first, first + count), in DFN order.
    void for_each_leaf(const std::function<void(const Translation&)>& fn, Dfn first = 0,
                       uint64_t count = 1ull << kDfnBits) const;

    size_t table_count() const { return m_tables.size() - m_free.size(); }
    // Tables beyond `limit` fail with ENOMEM (tests use it to fail a map half-way).
    void set_table_limit(size_t limit) { m_table_limit = limit; }

private:
    struct Table {
        std::array<uint64_t, 512> e {};
        uint16_t leaves = 0; // present leaf entries
    };

    Result<uint32_t> alloc_table();
    void free_subtree(uint32_t index, unsigned level);
    Table& table(uint32_t index) { return *m_tables[index]; }
    const Table& table(uint32_t index) const { return *m_tables[index]; }
    // Replace the superpage in `entry` (at `level`) with a table of 512 leaves one level down.
    Status split(uint64_t& entry, unsigned level);
    // Walk to the table at `level` that holds dfn, creating and splitting on the way.
    Result<uint32_t> walk_to(Dfn dfn, unsigned level, FlushKind& kind);
    // Set entry `idx` of table `t` at `level` to a leaf, keeping the leaf count.
    FlushKind store_leaf(uint32_t t, unsigned level, unsigned idx, uint64_t value);
    // Fold full contiguous tables on the path of dfn into superpages, bottom up.
    bool try_merge(Dfn dfn, unsigned from_level);
    void visit(uint32_t t, unsigned level, Dfn base, Dfn first, Dfn end,
               const std::function<void(const Translation&)>& fn) const;

    std::vector<std::unique_ptr<Table>> m_tables; // index 0 is the root
    std::vector<uint32_t> m_free;
    size_t m_table_limit = SIZE_MAX;
};

} // namespace xkvm::iommu

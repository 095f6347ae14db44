// One domain's software IOMMU: I/O page tables, the IOTLB in front of them, and the flush rules of
// seed 003. Each page-level change reports the flush it needs; map() and unmap() combine those and
// flush once per operation (page-selectively for an aligned power-of-two range, else domain-wide).
// A flush of kind Added is needed only in caching mode, where the IOTLB also caches "not present".
//
// Device models DMA through dma_read()/dma_write(), which translate through the IOTLB; an address
// that is unmapped, or lacks the permission, is a DmaFault value. Thread-safe: one lock per context.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "base/result.h"
#include "iommu/dma_space.h"
#include "iommu/iotlb.h"
#include "iommu/page_table.h"
#include "iommu/types.h"

namespace xkvm::iommu {

enum class FlushPolicy : uint8_t {
    PerOperation, // seed 003: one flush per map/unmap, of the strongest kind any entry needed
    EveryPage,    // before the seed: a Modified flush after every entry written, guard or not
};

struct ContextOptions {
    std::span<uint8_t> memory; // the frames: MFN n is memory[n * 4096, (n + 1) * 4096)
    bool caching_mode = false; // the unit caches non-present entries (VT-d CM)
    bool superpages = true;    // 2 MiB / 1 GiB leaves where alignment allows, and merging into them
    FlushPolicy policy = FlushPolicy::PerOperation;
    size_t iotlb_entries = 512;
};

enum class FlushScope : uint8_t { Elided, PageSelective, DomainWide };

struct FlushRecord {
    Dfn dfn = 0;
    uint64_t count = 0;
    FlushKind kind = FlushKind::None;
    FlushScope scope = FlushScope::Elided;
};

struct FlushStats {
    uint64_t operations = 0;     // map and unmap calls that changed or could change entries
    uint64_t page_selective = 0; // invalidations of an aligned power-of-two range
    uint64_t domain_wide = 0;    // invalidations of everything (flush_all, odd ranges, failures)
    uint64_t elided_none = 0;    // flushes asked with kind None
    uint64_t elided_added = 0;   // flushes of kind Added outside caching mode
    uint64_t suppressed = 0;     // operations under ScopedNoFlush that would have flushed
    uint64_t dma_faults = 0;

    uint64_t flushes() const { return page_selective + domain_wide; }
};

class Context final : public DmaSpace {
public:
    static Result<std::unique_ptr<Context>> create(const ContextOptions& opts);

    Status map(Dfn dfn, Mfn mfn, unsigned order, unsigned perms) override;
    Status unmap(Dfn dfn, unsigned order) override;
    std::optional<Translation> lookup(Dfn dfn) const override;
    Status flush_all() override;
    // Invalidate what a change of `kind` to [dfn, dfn + count) requires.
    void flush(Dfn dfn, uint64_t count, FlushKind kind);

    DmaStatus dma_read(uint64_t address, std::span<uint8_t> out);
    DmaStatus dma_write(uint64_t address, std::span<const uint8_t> in);

    // Switching either way empties the IOTLB (it may hold "not present" entries from caching mode).
    void set_caching_mode(bool on);
    bool caching_mode() const;
    void set_flush_policy(FlushPolicy policy);

    // Every present leaf overlapping [first, first + count), in DFN order (for checks against the physmap).
    void for_each_leaf(const std::function<void(const Translation&)>& fn, Dfn first = 0,
                       uint64_t count = 1ull << kDfnBits) const;
    // IOTLB entries that disagree with the tables: zero whenever no needed flush was skipped.
    size_t audit_iotlb() const;
    FlushStats stats() const;
    IotlbStats iotlb_stats() const;
    std::optional<FlushRecord> last_flush() const;
    size_t table_count() const;
    void set_table_limit(size_t limit);

private:
    explicit Context(const ContextOptions& opts) : m_opts(opts), m_iotlb(opts.iotlb_entries) { }

    // The largest leaf order that fits at dfn (and mfn, when mapping) with `left` pages to go.
    unsigned piece_order(Dfn dfn, std::optional<Mfn> mfn, uint64_t left) const;
    Status clear_range_locked(Dfn dfn, uint64_t pages, FlushKind& kind);
    void after_entry_locked(Dfn dfn, unsigned order);
    void after_operation_locked(Dfn dfn, uint64_t pages, FlushKind kind);
    void flush_locked(Dfn dfn, uint64_t count, FlushKind kind);
    void flush_all_locked();
    std::optional<Translation> translate_locked(Dfn dfn);
    DmaStatus dma(uint64_t address, uint8_t* buf, size_t len, bool write);
    DmaStatus fault_locked(DmaFault f, uint64_t address);

    ContextOptions m_opts;
    mutable std::mutex m_lock;
    IoPageTable m_tables;
    Iotlb m_iotlb;
    FlushStats m_stats;
    std::optional<FlushRecord> m_last_flush;
};

// Checks shared by every DmaSpace implementation: EINVAL for a bad order, permission or alignment,
// ERANGE for frames beyond the address widths.
Status check_map_args(Dfn dfn, Mfn mfn, unsigned order, unsigned perms);
Status check_unmap_args(Dfn dfn, unsigned order);

} // namespace xkvm::iommu

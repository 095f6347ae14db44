// The IOTLB: a bounded cache of translations in front of the I/O page tables. It holds leaves as the
// tables had them when a DMA looked them up, and, in caching mode (as VT-d's CM bit), "not present"
// answers too. It forgets entries only when told to: a page-selective invalidation of an aligned range
// or a domain-wide one. So a missed invalidation shows up as a stale hit, which audit() counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "iommu/page_table.h"
#include "iommu/types.h"

namespace xkvm::iommu {

struct IotlbStats {
    uint64_t hits = 0;
    uint64_t negative_hits = 0; // hits on a cached "not present"
    uint64_t misses = 0;
    uint64_t evictions = 0;
};

class Iotlb {
public:
    explicit Iotlb(size_t capacity) : m_capacity(capacity ? capacity : 1) { }

    // A cached answer for dfn: a translation, or (caching mode) std::nullopt inside the optional.
    struct Hit {
        std::optional<Translation> t;
    };
    std::optional<Hit> find(Dfn dfn);
    void insert(const Translation& t);
    void insert_not_present(Dfn dfn);

    // Forget every entry that overlaps [dfn, dfn + count).
    void invalidate_range(Dfn dfn, uint64_t count);
    void invalidate_all() { m_entries.clear(); }

    // Entries that disagree with the tables (a translation the tables no longer have, or a cached
    // "not present" where there is now a leaf). Zero whenever every needed flush was issued.
    size_t audit(const IoPageTable& tables) const;

    size_t size() const { return m_entries.size(); }
    const IotlbStats& stats() const { return m_stats; }

private:
    struct Entry {
        bool present = false;
        Translation t; // base_dfn and order also for a "not present" entry (order 0)
    };
    static uint64_t key(Dfn dfn, unsigned order) { return (uint64_t(order) << 56) | (dfn >> order); }
    void put(uint64_t k, const Entry& e);

    size_t m_capacity;
    std::unordered_map<uint64_t, Entry> m_entries;
    IotlbStats m_stats;
};

} // namespace xkvm::iommu

#include "iommu/iotlb.h"

#include <algorithm>

namespace xkvm::iommu {

namespace {
constexpr unsigned kCachedOrders[] = { 0, 9, 18 };
}

std::optional<Iotlb::Hit> Iotlb::find(Dfn dfn)
{
    for (unsigned order : kCachedOrders) {
        auto it = m_entries.find(key(dfn, order));
        if (it == m_entries.end())
            continue;
        if (!it->second.present) {
            ++m_stats.negative_hits;
            return Hit { std::nullopt };
        }
        ++m_stats.hits;
        return Hit { it->second.t };
    }
    ++m_stats.misses;
    return std::nullopt;
}

void Iotlb::put(uint64_t k, const Entry& e)
{
    if (m_entries.size() >= m_capacity && !m_entries.contains(k)) {
        m_entries.erase(m_entries.begin()); // any victim will do: a cache may forget at will
        ++m_stats.evictions;
    }
    m_entries[k] = e;
}

void Iotlb::insert(const Translation& t) { put(key(t.base_dfn, t.order), Entry { true, t }); }

void Iotlb::insert_not_present(Dfn dfn) { put(key(dfn, 0), Entry { false, Translation { dfn, 0, 0, 0 } }); }

void Iotlb::invalidate_range(Dfn dfn, uint64_t count)
{
    Dfn end = dfn + count;
    if (count > m_entries.size()) {
        std::erase_if(m_entries, [&](const auto& kv) {
            const Translation& t = kv.second.t;
            return t.base_dfn < end && dfn < t.base_dfn + (1ull << t.order);
        });
        return;
    }
    // A short range: look up the pages it covers at each size.
    for (unsigned order : kCachedOrders) {
        Dfn first = dfn >> order, last = (end - 1) >> order;
        for (Dfn b = first; b <= last; ++b)
            m_entries.erase((uint64_t(order) << 56) | b);
    }
}

size_t Iotlb::audit(const IoPageTable& tables) const
{
    size_t stale = 0;
    for (const auto& kv : m_entries) {
        const Entry& e = kv.second; // not a structured binding: clang 14 cannot capture those
        if (!e.present) {
            stale += tables.lookup(e.t.base_dfn).has_value();
            continue;
        }
        // Every page the cached leaf covers must still be mapped, to the same frame, with the same
        // permissions: the leaves there now must tile the range and agree with it.
        uint64_t covered = 0;
        bool agree = true;
        tables.for_each_leaf(
            [&](const Translation& now) {
                Dfn lo = std::max(now.base_dfn, e.t.base_dfn);
                Dfn hi = std::min(now.base_dfn + (1ull << now.order), e.t.base_dfn + (1ull << e.t.order));
                covered += hi - lo;
                agree = agree && now.perms == e.t.perms && now.mfn_of(lo) == e.t.mfn_of(lo);
            },
            e.t.base_dfn, 1ull << e.t.order);
        stale += !(agree && covered == (1ull << e.t.order));
    }
    return stale;
}

} // namespace xkvm::iommu

#include "iommu/physmap_mirror.h"

#include <cerrno>

#include "base/log.h"

namespace xkvm::iommu {

namespace {

unsigned perms_of(memory::Protection p) { return p == memory::Protection::ReadOnly ? kRead : kReadWrite; }

// Both map the guest page at the same backing page with the same protection.
bool same_translation(const memory::Mapping& a, const memory::Mapping& b)
{
    return a.prot == b.prot && a.offset - a.gpa == b.offset - b.gpa;
}

// The parts of `from` that no mapping of `by` overlaps (only those with the same translation, when
// `identical_only`).
std::vector<memory::Mapping> subtract(const std::vector<memory::Mapping>& from,
                                      const std::vector<memory::Mapping>& by, bool identical_only)
{
    std::vector<memory::Mapping> pieces = from;
    for (const auto& b : by) {
        std::vector<memory::Mapping> next;
        for (const auto& p : pieces) {
            if (b.gpa >= p.end() || b.end() <= p.gpa || (identical_only && !same_translation(p, b))) {
                next.push_back(p);
                continue;
            }
            if (p.gpa < b.gpa)
                next.push_back({ p.gpa, b.gpa - p.gpa, p.offset, p.prot });
            if (b.end() < p.end())
                next.push_back({ b.end(), p.end() - b.end(), p.offset + (b.end() - p.gpa), p.prot });
        }
        pieces = std::move(next);
    }
    return pieces;
}

} // namespace

void PhysmapMirror::record(Status st)
{
    std::lock_guard guard(m_lock);
    ++m_ops;
    if (!st && !m_error) {
        log::get("iommu")->error("DMA space out of step with the physmap: {}", st.error().message);
        m_error = st.error();
    }
}

void PhysmapMirror::physmap_change_done()
{
    // What went and did not come back the same, minus what another mapping now covers (a map
    // replaces it in one step); then what came that was not there the same before.
    auto gone = subtract(subtract(m_removed, m_added, true), m_added, false);
    auto come = subtract(m_added, m_removed, true);
    m_removed.clear();
    m_added.clear();
    for (const auto& m : gone)
        for_each_aligned_piece(m.gpa >> kPageShift, std::nullopt, m.size >> kPageShift,
                               [&](Dfn dfn, Mfn, unsigned order) { record(m_dma.unmap(dfn, order)); });
    for (const auto& m : come)
        for_each_aligned_piece(m.gpa >> kPageShift, m.offset >> kPageShift, m.size >> kPageShift,
                               [&](Dfn dfn, Mfn mfn, unsigned order) {
                                   record(m_dma.map(dfn, mfn, order, perms_of(m.prot)));
                               });
}

Status PhysmapMirror::status() const
{
    std::lock_guard guard(m_lock);
    if (m_error)
        return make_unexpected(*m_error);
    return {};
}

uint64_t PhysmapMirror::operations() const
{
    std::lock_guard guard(m_lock);
    return m_ops;
}

// The leaves over one physmap entry must cover all of it, each page at its backing page.
static Status check_mapping(const Context& dma, const memory::Mapping& m)
{
    Dfn first = m.gpa >> kPageShift;
    uint64_t pages = m.size >> kPageShift, covered = 0;
    Mfn base = m.offset >> kPageShift;
    std::optional<Error> bad;
    dma.for_each_leaf(
        [&](const Translation& t) {
            Dfn lo = std::max(t.base_dfn, first);
            Dfn hi = std::min<Dfn>(t.base_dfn + (1ull << t.order), first + pages);
            covered += hi - lo;
            if (!bad && (t.mfn_of(lo) != base + (lo - first) || t.perms != perms_of(m.prot)))
                bad = Error { EIO, fmt::format("gfn {:#x}: DMA frame {:#x} perms {}, physmap frame {:#x}", lo,
                                               t.mfn_of(lo), t.perms, base + (lo - first)) };
        },
        first, pages);
    if (bad)
        return make_unexpected(*bad);
    if (covered != pages)
        return fail(EIO, "gfns {:#x}+{:#x}: {} pages missing from the DMA space", first, pages, pages - covered);
    return {};
}

Status verify_dma_space(const Context& dma, const memory::Physmap& physmap)
{
    uint64_t physmap_pages = 0, dma_pages = 0;
    for (const auto& m : physmap.mappings()) {
        physmap_pages += m.size >> kPageShift;
        TRY(check_mapping(dma, m));
    }
    dma.for_each_leaf([&](const Translation& t) { dma_pages += 1ull << t.order; });
    if (dma_pages != physmap_pages)
        return fail(EIO, "the DMA space maps {} pages, the physmap {}", dma_pages, physmap_pages);
    return {};
}

} // namespace xkvm::iommu

#include "iommu/physmap_mirror.h"

#include <cerrno>

#include "base/log.h"

namespace xkvm::iommu {

namespace {

unsigned perms_of(memory::Protection p) { return p == memory::Protection::ReadOnly ? kRead : kReadWrite; }

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

void PhysmapMirror::physmap_unmapped(const memory::Mapping& m)
{
    for_each_aligned_piece(m.gpa >> kPageShift, std::nullopt, m.size >> kPageShift,
                           [&](Dfn dfn, Mfn, unsigned order) { record(m_dma.unmap(dfn, order)); });
}

void PhysmapMirror::physmap_mapped(const memory::Mapping& m, uint8_t*)
{
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

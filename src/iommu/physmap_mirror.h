// Keeps a domain's DMA space in step with its guest physmap: a PhysmapListener that maps every guest
// range the physmap gains (DFN = guest frame, MFN = page of the backing file, read-only where the
// physmap's entry is) and unmaps every range it loses. The physmap tells a change to part of an
// entry as the whole entry going and its remaining pieces coming back; the mirror diffs the two at
// the end of each change, so pages that keep their translation are never touched (a device DMAing
// there never sees them vanish). Each changed range goes in aligned power-of-two pieces, one flush
// per piece. The domain build runs its maps under ScopedNoFlush and flushes once.
#pragma once

#include <mutex>
#include <optional>
#include <vector>

#include "base/result.h"
#include "iommu/context.h"
#include "iommu/dma_space.h"
#include "memory/physmap.h"

namespace xkvm::iommu {

class PhysmapMirror final : public memory::PhysmapListener {
public:
    explicit PhysmapMirror(DmaSpace& dma) : m_dma(dma) { }

    // Called under the physmap's write lock, so one change at a time.
    void physmap_unmapped(const memory::Mapping& m) override { m_removed.push_back(m); }
    void physmap_mapped(const memory::Mapping& m, uint8_t*) override { m_added.push_back(m); }
    void physmap_change_done() override;

    // The first change that could not be mirrored (the DMA space then no longer matches: the
    // domain should be failed, as Xen crashes a domain whose IOMMU map fails).
    Status status() const;
    uint64_t operations() const;

private:
    void record(Status st);

    DmaSpace& m_dma;
    std::vector<memory::Mapping> m_removed, m_added; // the change being told
    mutable std::mutex m_lock;
    std::optional<Error> m_error;
    uint64_t m_ops = 0;
};

// Pieces of [dfn, dfn + pages) (with frames from mfn, when given) as aligned power-of-two blocks.
template<typename Fn>
void for_each_aligned_piece(Dfn dfn, std::optional<Mfn> mfn, uint64_t pages, Fn&& fn)
{
    while (pages) {
        uint64_t bits = dfn | mfn.value_or(0) | (1ull << kMaxOrder);
        unsigned order = static_cast<unsigned>(__builtin_ctzll(bits));
        while ((1ull << order) > pages)
            --order;
        fn(dfn, mfn.value_or(0), order);
        dfn += 1ull << order, pages -= 1ull << order;
        if (mfn)
            *mfn += 1ull << order;
    }
}

// Checks that the DMA space holds exactly the physmap: every mapped guest page at its backing
// page with its protection, and nothing else. EIO naming the first difference.
Status verify_dma_space(const Context& dma, const memory::Physmap& physmap);

} // namespace xkvm::iommu

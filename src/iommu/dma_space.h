// A domain's DMA address space as the rest of the VMM sees it: map, unmap, lookup, flush-all. The
// software IOMMU (Context) implements it today; a VFIO backend (iommufd IOAS or type1 container: one
// DMA map per contiguous range, flushing left to the host kernel) can implement it for passthrough.
#pragma once

#include <optional>

#include "base/result.h"
#include "iommu/types.h"

namespace xkvm::iommu {

class DmaSpace {
public:
    virtual ~DmaSpace() = default;

    // Map 2^order pages at dfn to mfn (both aligned to the order). Replaces what was there. On
    // failure nothing of this call stays mapped (and the translation caches are flushed).
    [[nodiscard]] virtual Status map(Dfn dfn, Mfn mfn, unsigned order, unsigned perms) = 0;
    // Unmap 2^order pages at dfn (aligned); pages not mapped are no error.
    [[nodiscard]] virtual Status unmap(Dfn dfn, unsigned order) = 0;
    virtual std::optional<Translation> lookup(Dfn dfn) const = 0;
    // Invalidate every cached translation (after a bulk population under ScopedNoFlush).
    [[nodiscard]] virtual Status flush_all() = 0;
};

// While one is alive on a thread, map and unmap on that thread issue no flush per operation: the
// owner builds a whole address space and then calls flush_all() once. Nests.
class ScopedNoFlush {
public:
    ScopedNoFlush();
    ~ScopedNoFlush();
    ScopedNoFlush(const ScopedNoFlush&) = delete;
    ScopedNoFlush& operator=(const ScopedNoFlush&) = delete;

    static bool active();
};

} // namespace xkvm::iommu

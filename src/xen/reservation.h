// The domain's memory reservation: how many pages it holds (current) and may hold (maximum), and the
// balloon's moves, one extent at a time (XENMEM_increase/decrease_reservation, populate_physmap).
// Ballooned-out pages leave the physmap and go back to the host (their backing is punched out);
// populated ones come from backing no guest frame uses. Every change goes through the physmap, so
// its listeners (the KVM memslots, the emulated TLBs, the DMA space) follow.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "base/result.h"
#include "memory/frame_pool.h"
#include "memory/physmap.h"

namespace xkvm::xen {

struct ReservationSetup {
    uint64_t current_pages = 0;
    uint64_t max_pages = 0;
    // Backing-file ranges that hold guest RAM: what may be ballooned out, and (where no guest frame
    // maps it yet) what populate_physmap may use. Other backing (shared_info, the VMM's special
    // pages) can never be ballooned out.
    std::vector<memory::BackingRun> ram_backing;
    unsigned max_extent_order = 9; // Xen's memop-max-order for a domU on x86
};

class Reservation {
public:
    Reservation(memory::Physmap& physmap, const ReservationSetup& setup);

    uint64_t current_pages() const;
    uint64_t max_pages() const;
    // xl mem-max: below the current reservation is allowed (the guest is then asked to shrink).
    void set_max_pages(uint64_t pages);
    unsigned max_extent_order() const { return m_max_order; }

    // Each returns false, changing nothing, when the extent cannot be done (Xen stops there and
    // reports the extents done before it). decrease() may remove a prefix of the extent first, as
    // Xen does page by page.
    bool increase(unsigned order);
    bool populate(uint64_t gfn, unsigned order);
    bool decrease(uint64_t gfn, unsigned order);

    // XENMAPSPACE_gmfn: the RAM page at `from` moves to `to`; a RAM page at `to` is freed first.
    // EINVAL when `from` is not populated RAM or `to` holds a frame that is not RAM.
    Status move_frame(uint64_t from, uint64_t to);
    // XENMEM_remove_from_physmap: the frame leaves the physmap (ENOENT when nothing is there). A RAM
    // page stays counted in the reservation, as on Xen; its backing goes back to the host.
    Status remove_frame(uint64_t gfn);

    uint64_t pool_pages() const;

private:
    bool is_ram_backing(uint64_t offset, uint64_t size) const;
    // Pages from gfn that are mapped, writable, RAM-backed and contiguous: the removable prefix.
    std::vector<memory::Mapping> removable_prefix(uint64_t gfn, uint64_t pages) const;
    // Unmap one mapped page and, if it is RAM, give its backing back. Caller holds m_lock.
    Status drop_page_locked(const memory::Mapping& page);

    memory::Physmap& m_physmap;
    std::vector<memory::BackingRun> m_ram_backing;
    unsigned m_max_order;
    mutable std::mutex m_lock;
    uint64_t m_current;
    uint64_t m_max;
    memory::FramePool m_pool;
};

} // namespace xkvm::xen

// XENMEM_increase_reservation, XENMEM_decrease_reservation and XENMEM_populate_physmap: the balloon.
// As on Xen they return how many extents were done (from the continuation index in the command's
// upper bits), never an errno: an unreadable argument, another domain, a bad order, an extent over
// the maximum reservation or one that is not populated all stop the count there.
#include "xen/abi/compat32.h"
#include "xen/abi/memory.h"
#include "xen/domain.h"
#include "xen/hypercall.h"

namespace xkvm::xen {

namespace {

constexpr unsigned kExtentShift = 6; // MEMOP_EXTENT_SHIFT

struct ReservationArgs {
    uint64_t extent_start = 0;
    uint64_t nr_extents = 0;
    unsigned order = 0;
    unsigned mem_flags = 0;
    domid_t domid = 0;
};

Result<ReservationArgs> read_args(HypercallContext& ctx)
{
    if (ctx.mode64) {
        auto r = TRY(ctx.guest.read_obj<xen_memory_reservation>(ctx.arg(1)));
        return ReservationArgs { reinterpret_cast<uint64_t>(r.extent_start), r.nr_extents, r.extent_order,
                                 r.mem_flags, r.domid };
    }
    auto r = TRY(ctx.guest.read_obj<xen_memory_reservation_compat32>(ctx.arg(1)));
    return ReservationArgs { r.extent_start, r.nr_extents, r.extent_order, r.mem_flags, r.domid };
}

Result<uint64_t> read_extent(HypercallContext& ctx, uint64_t list, uint64_t i)
{
    if (ctx.mode64)
        return TRY(ctx.guest.read_obj<uint64_t>(list + i * sizeof(uint64_t)));
    return TRY(ctx.guest.read_obj<uint32_t>(list + i * sizeof(uint32_t)));
}

} // namespace

HypercallResult memory_reservation_op(HypercallContext& ctx, unsigned op)
{
    const uint64_t start = ctx.cmd(0) >> kExtentShift;
    auto args = read_args(ctx);
    if (!args || args->nr_extents > (UINT32_MAX >> kExtentShift) || start >= args->nr_extents)
        return static_cast<int64_t>(start);
    if (args->domid != DOMID_SELF && args->domid != ctx.domain.domid())
        return static_cast<int64_t>(start); // no privilege over another domain
    if (op == XENMEM_populate_physmap && (args->mem_flags & XENMEMF_populate_on_demand))
        return static_cast<int64_t>(start); // populate-on-demand of oneself is refused
    auto& res = ctx.domain.reservation();
    uint64_t i = start;
    for (; i < args->nr_extents; ++i) {
        bool done;
        if (op == XENMEM_increase_reservation) {
            done = res.increase(args->order);
        } else {
            auto gfn = read_extent(ctx, args->extent_start, i);
            if (!gfn)
                break;
            done = op == XENMEM_populate_physmap ? res.populate(*gfn, args->order) : res.decrease(*gfn, args->order);
        }
        if (!done)
            break;
    }
    return static_cast<int64_t>(i);
}

} // namespace xkvm::xen

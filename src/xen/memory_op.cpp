// memory_op: the guest's physmap (shared_info placement), its memory map and reservation sizes.
#include "xen/abi/compat32.h"
#include "xen/abi/memory.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

constexpr unsigned kMemopCmdMask = (1u << 6) - 1; // the rest of the word is a continuation index

// One frame of XENMAPSPACE_gmfn or shared_info (add_to_physmap and its batch form).
Status map_one(HypercallContext& ctx, unsigned space, uint64_t idx, uint64_t gpfn)
{
    switch (space) {
    case XENMAPSPACE_gmfn:
        return ctx.domain.reservation().move_frame(idx, gpfn);
    case XENMAPSPACE_shared_info:
        if (idx != 0)
            return xen_fail(XEN_EINVAL, "shared_info has one frame, not index {}", idx);
        TRY(ctx.domain.map_shared_info(gpfn));
        ctx.domain.shared_info().latch_layout(ctx.mode64);
        return {};
    default:
        return xen_fail(XEN_EINVAL, "map space {} is not supported", space);
    }
}

HypercallResult add_to_physmap(HypercallContext& ctx)
{
    domid_t domid;
    unsigned space, size;
    uint64_t idx, gpfn;
    if (ctx.mode64) {
        auto a = TRY(ctx.guest.read_obj<xen_add_to_physmap>(ctx.arg(1)));
        domid = a.domid, space = a.space, idx = a.idx, gpfn = a.gpfn, size = a.size;
    } else {
        auto a = TRY(ctx.guest.read_obj<xen_add_to_physmap_compat32>(ctx.arg(1)));
        domid = a.domid, space = a.space, idx = a.idx, gpfn = a.gpfn, size = a.size;
    }
    TRY(check_target_domain(ctx, domid, "memory_op"));
    if (space != XENMAPSPACE_gmfn_range) {
        TRY(map_one(ctx, space, idx, gpfn));
        return 0;
    }
    // Page by page, as Xen does; an error stops it there (the pages before stay moved).
    for (unsigned i = 0; i < size; ++i)
        TRY(ctx.domain.reservation().move_frame(idx + i, gpfn + i));
    return 0;
}

// Each frame is tried on its own and its result (0 or a Xen errno) written to errs[i]; the call
// itself fails only when the lists cannot be read or written.
HypercallResult add_to_physmap_batch(HypercallContext& ctx)
{
    domid_t domid;
    unsigned space, size;
    uint64_t idxs, gpfns, errs;
    size_t word = ctx.mode64 ? 8 : 4;
    if (ctx.mode64) {
        auto b = TRY(ctx.guest.read_obj<xen_add_to_physmap_batch>(ctx.arg(1)));
        domid = b.domid, space = b.space, size = b.size;
        idxs = reinterpret_cast<uint64_t>(b.idxs), gpfns = reinterpret_cast<uint64_t>(b.gpfns);
        errs = reinterpret_cast<uint64_t>(b.errs);
    } else {
        auto b = TRY(ctx.guest.read_obj<xen_add_to_physmap_batch_compat32>(ctx.arg(1)));
        domid = b.domid, space = b.space, size = b.size, idxs = b.idxs, gpfns = b.gpfns, errs = b.errs;
    }
    // common/memory.c, do_memory_op: the space is refused before the domain is looked up.
    if (space == XENMAPSPACE_gmfn_range)
        return xen_fail(XEN_EOPNOTSUPP, "XENMAPSPACE_gmfn_range has no batch form");
    TRY(check_target_domain(ctx, domid, "memory_op"));
    for (unsigned i = 0; i < size; ++i) {
        uint64_t idx = 0, gpfn = 0;
        TRY(ctx.guest.read(idxs + i * word, std::span(reinterpret_cast<uint8_t*>(&idx), word)));
        TRY(ctx.guest.read(gpfns + i * word, std::span(reinterpret_cast<uint8_t*>(&gpfn), word)));
        auto done = map_one(ctx, space, idx, gpfn);
        int32_t err = done ? 0 : static_cast<int32_t>(guest_error_value(done.error()));
        TRY(ctx.guest.write_obj<int32_t>(errs + i * sizeof(int32_t), err));
    }
    return 0;
}

HypercallResult remove_from_physmap(HypercallContext& ctx)
{
    domid_t domid;
    uint64_t gpfn;
    if (ctx.mode64) {
        auto r = TRY(ctx.guest.read_obj<xen_remove_from_physmap>(ctx.arg(1)));
        domid = r.domid, gpfn = r.gpfn;
    } else {
        auto r = TRY(ctx.guest.read_obj<xen_remove_from_physmap_compat32>(ctx.arg(1)));
        domid = r.domid, gpfn = r.gpfn;
    }
    TRY(check_target_domain(ctx, domid, "memory_op"));
    TRY(ctx.domain.reservation().remove_frame(gpfn));
    ctx.domain.frame_removed(gpfn);
    return 0;
}

HypercallResult memory_map(HypercallContext& ctx)
{
    uint32_t room;
    uint64_t buffer;
    if (ctx.mode64) {
        auto m = TRY(ctx.guest.read_obj<xen_memory_map>(ctx.arg(1)));
        room = m.nr_entries, buffer = reinterpret_cast<uint64_t>(m.buffer);
    } else {
        auto m = TRY(ctx.guest.read_obj<xen_memory_map_compat32>(ctx.arg(1)));
        room = m.nr_entries, buffer = m.buffer;
    }
    const auto& map = ctx.domain.setup().memory_map;
    uint32_t n = std::min<uint32_t>(room, static_cast<uint32_t>(map.size()));
    for (uint32_t i = 0; i < n; ++i) {
        xen_e820_entry e { map[i].base, map[i].size, static_cast<uint32_t>(map[i].type) };
        TRY(ctx.guest.write_obj(buffer + i * sizeof(e), e));
    }
    // Write back how many entries there are in the buffer now.
    TRY(ctx.guest.write_obj<uint32_t>(ctx.arg(1), n));
    return 0;
}

HypercallResult reservation(HypercallContext& ctx, bool maximum)
{
    auto domid = TRY(ctx.guest.read_obj<domid_t>(ctx.arg(1)));
    TRY(check_target_domain(ctx, domid, "memory_op"));
    auto& res = ctx.domain.reservation();
    return static_cast<int64_t>(maximum ? res.max_pages() : res.current_pages());
}

HypercallResult maximum_gpfn(HypercallContext& ctx)
{
    auto domid = TRY(ctx.guest.read_obj<domid_t>(ctx.arg(1)));
    TRY(check_target_domain(ctx, domid, "memory_op"));
    uint64_t top = 0;
    for (const auto& e : ctx.domain.setup().memory_map)
        if (e.type == memory::RegionType::Ram)
            top = std::max(top, e.end());
    return static_cast<int64_t>(top ? (top >> memory::kPageShift) - 1 : 0);
}

} // namespace

HypercallResult do_memory_op(HypercallContext& ctx)
{
    unsigned cmd = ctx.cmd(0) & kMemopCmdMask;
    switch (cmd) {
    case XENMEM_increase_reservation:
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
        return memory_reservation_op(ctx, cmd);
    case XENMEM_add_to_physmap:
        return add_to_physmap(ctx);
    case XENMEM_add_to_physmap_batch:
        return add_to_physmap_batch(ctx);
    case XENMEM_remove_from_physmap:
        return remove_from_physmap(ctx);
    case XENMEM_memory_map:
        return memory_map(ctx);
    case XENMEM_current_reservation:
        return reservation(ctx, false);
    case XENMEM_maximum_reservation:
        return reservation(ctx, true);
    case XENMEM_maximum_gpfn:
        return maximum_gpfn(ctx);
    default:
        return xen_fail(XEN_ENOSYS, "memory_op {} unknown", cmd);
    }
}

} // namespace xkvm::xen

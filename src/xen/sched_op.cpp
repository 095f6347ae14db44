// sched_op: yield, block, poll, shutdown.
#include <sched.h>

#include "xen/abi/compat32.h"
#include "xen/abi/sched.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

constexpr uint32_t kMaxPollPorts = 128;

// Xen keeps the low 8 bits of any reason and validates nothing (common/sched/core.c, do_sched_op:
// SCHEDOP_shutdown and SCHEDOP_shutdown_code pass `(u8)reason` on); the toolstack destroys a
// domain whose reason it does not know, as libxl does.
unsigned xen_shutdown_reason(unsigned raw)
{
    return raw & 0xff;
}

HypercallResult shutdown(HypercallContext& ctx, unsigned reason)
{
    ctx.effect = HypercallEffect::Shutdown;
    ctx.shutdown_reason = xen_shutdown_reason(reason);
    return 0;
}

HypercallResult block(HypercallContext& ctx)
{
    // Blocking re-enables event delivery first, so a pending event ends it at once.
    ctx.domain.shared_info().set_upcall_mask(ctx.vcpu_id, false);
    (void)ctx.domain.begin_wait(ctx.vcpu_id, {}, 0, false); // no deadline, no alarm to refuse
    ctx.effect = HypercallEffect::Block;
    return 0;
}

HypercallResult poll(HypercallContext& ctx)
{
    uint64_t ports_va, timeout;
    uint32_t nr;
    if (ctx.mode64) {
        auto p = TRY(ctx.guest.read_obj<sched_poll>(ctx.arg(1)));
        ports_va = reinterpret_cast<uint64_t>(p.ports);
        nr = p.nr_ports;
        timeout = p.timeout;
    } else {
        auto p = TRY(ctx.guest.read_obj<sched_poll_compat32>(ctx.arg(1)));
        ports_va = p.ports;
        nr = p.nr_ports;
        timeout = p.timeout;
    }
    if (nr > kMaxPollPorts)
        return xen_fail(XEN_EINVAL, "poll on {} ports (at most {})", nr, kMaxPollPorts);
    // Port by port, read and checked, as Xen's do_poll does: a pending port ends the call before a
    // later port is read at all, so neither a bad number nor an unreadable entry after it counts.
    std::vector<evtchn_port_t> ports;
    ports.reserve(nr);
    for (uint32_t i = 0; i < nr; ++i) {
        auto port = TRY(ctx.guest.read_obj<evtchn_port_t>(ports_va + uint64_t { i } * sizeof(evtchn_port_t)));
        if (TRY(ctx.domain.evtchn().poll_port(port)))
            return 0;
        ports.push_back(port);
    }
    if (timeout != 0 && timeout <= ctx.domain.platform().system_time_ns())
        return 0;
    // The wait owns the deadline's alarm. If the domain has too many alarms, the poll returns as if
    // woken (a poll may always return early; the guest looks at its ports again).
    if (!ctx.domain.begin_wait(ctx.vcpu_id, std::move(ports), timeout, true))
        return 0;
    ctx.effect = HypercallEffect::Block;
    return 0;
}

} // namespace

HypercallResult do_sched_op(HypercallContext& ctx)
{
    switch (ctx.cmd(0)) {
    case SCHEDOP_yield:
        sched_yield();
        return 0;
    case SCHEDOP_block:
        return block(ctx);
    case SCHEDOP_shutdown: {
        auto s = TRY(ctx.guest.read_obj<sched_shutdown>(ctx.arg(1)));
        return shutdown(ctx, s.reason);
    }
    case SCHEDOP_shutdown_code: {
        auto s = TRY(ctx.guest.read_obj<sched_shutdown>(ctx.arg(1)));
        ctx.domain.set_shutdown_code(xen_shutdown_reason(s.reason));
        return 0;
    }
    case SCHEDOP_poll:
        return poll(ctx);
    case SCHEDOP_remote_shutdown: {
        // common/sched/core.c, do_sched_op: rcu_lock_domain_by_id, which knows no DOMID_SELF
        // (-ESRCH), then XSM_DM_PRIV, which an unprivileged domain fails even for itself.
        auto s = TRY(ctx.guest.read_obj<sched_remote_shutdown>(ctx.arg(1)));
        if (s.domain_id == DOMID_SELF || !ctx.domain.evtchn().domain_exists(s.domain_id))
            return xen_fail(XEN_ESRCH, "remote_shutdown: domain {} does not exist", s.domain_id);
        return xen_fail(XEN_EPERM, "remote_shutdown of domain {} needs privilege", s.domain_id);
    }
    default:
        return xen_fail(XEN_ENOSYS, "sched_op {} unknown", ctx.cmd(0));
    }
}

} // namespace xkvm::xen

// The dispatch table: hypercall number -> handler.
#include "base/log.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

constexpr std::array<HypercallHandler, XEN_HYPERCALL_COUNT> make_table()
{
    std::array<HypercallHandler, XEN_HYPERCALL_COUNT> t {};
    t[XEN_HYPERCALL_memory_op] = do_memory_op;
    t[XEN_HYPERCALL_set_timer_op] = do_set_timer_op;
    t[XEN_HYPERCALL_xen_version] = do_xen_version;
    t[XEN_HYPERCALL_console_io] = do_console_io;
    t[XEN_HYPERCALL_vcpu_op] = do_vcpu_op;
    t[XEN_HYPERCALL_sched_op] = do_sched_op;
    t[XEN_HYPERCALL_event_channel_op] = do_event_channel_op;
    t[XEN_HYPERCALL_hvm_op] = do_hvm_op;
    return t;
}

constexpr auto kTable = make_table();

} // namespace

const std::array<HypercallHandler, XEN_HYPERCALL_COUNT>& hypercall_table()
{
    return kTable;
}

const char* hypercall_name(uint64_t op)
{
    switch (op) {
    case XEN_HYPERCALL_memory_op: return "memory_op";
    case XEN_HYPERCALL_set_timer_op: return "set_timer_op";
    case XEN_HYPERCALL_xen_version: return "xen_version";
    case XEN_HYPERCALL_console_io: return "console_io";
    case XEN_HYPERCALL_grant_table_op: return "grant_table_op";
    case XEN_HYPERCALL_vcpu_op: return "vcpu_op";
    case XEN_HYPERCALL_sched_op_compat: return "sched_op_compat";
    case XEN_HYPERCALL_sched_op: return "sched_op";
    case XEN_HYPERCALL_event_channel_op: return "event_channel_op";
    case XEN_HYPERCALL_physdev_op: return "physdev_op";
    case XEN_HYPERCALL_hvm_op: return "hvm_op";
    default: return "unknown";
    }
}

HypercallRegs decode_hypercall_regs(const x86::Regs& r, bool mode64)
{
    using enum x86::Gpr;
    if (mode64)
        return { r.gpr[Rax], { r.gpr[Rdi], r.gpr[Rsi], r.gpr[Rdx], r.gpr[R10], r.gpr[R8], r.gpr[R9] } };
    auto low = [&](x86::Gpr g) { return r.gpr[g] & 0xffffffffu; };
    return { low(Rax), { low(Rbx), low(Rcx), low(Rdx), low(Rsi), low(Rdi), low(Rbp) } };
}

uint64_t hypercall_return_value(int64_t result, bool mode64)
{
    return mode64 ? static_cast<uint64_t>(result) : static_cast<uint32_t>(result);
}

Status check_target_domain(const HypercallContext& ctx, domid_t domid, const char* what)
{
    if (domid == DOMID_SELF || domid == ctx.domain.domid())
        return {};
    if (!ctx.domain.evtchn().domain_exists(domid))
        return xen_fail(XEN_ESRCH, "{}: domain {} does not exist", what, domid);
    return xen_fail(XEN_EPERM, "{} on domain {} needs privilege", what, domid);
}

int64_t dispatch_hypercall(HypercallContext& ctx)
{
    auto logger = log::get("xen");
    // Xen refuses hypercalls from guest user mode.
    if (ctx.cpl != 0) {
        logger->debug("d{}v{}: hypercall {} from CPL{} refused", ctx.domain.domid(), ctx.vcpu_id, ctx.op, ctx.cpl);
        return -XEN_EPERM;
    }
    HypercallHandler handler = ctx.op < kTable.size() ? kTable[ctx.op] : nullptr;
    if (!handler) {
        logger->debug("d{}v{}: hypercall {} ({}) not implemented", ctx.domain.domid(), ctx.vcpu_id, ctx.op,
                      hypercall_name(ctx.op));
        return -XEN_ENOSYS;
    }
    ctx.domain.stats().count_hypercall(ctx.op);
    HypercallResult r = handler(ctx);
    if (!r) {
        logger->debug("d{}v{}: {}({:#x}, {:#x}) -> -{}: {}", ctx.domain.domid(), ctx.vcpu_id, hypercall_name(ctx.op),
                      ctx.args[0], ctx.args[1], to_xen_errno(r.error().code), r.error().message);
        return guest_error_value(r.error());
    }
    return *r;
}

} // namespace xkvm::xen

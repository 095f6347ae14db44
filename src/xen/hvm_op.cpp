// hvm_op: HVM params, the per-vCPU upcall vector, the time, and guest requests to a vm_event monitor.
#include "xen/abi/hvm.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

// x86/hvm/hvm.c, hvmop_set_param / hvmop_get_param: the index is checked before the domain.
Status check_param_target(const HypercallContext& ctx, const xen_hvm_param& p)
{
    if (p.index >= HVM_NR_PARAMS)
        return xen_fail(XEN_EINVAL, "HVM param {} out of range", p.index);
    return check_target_domain(ctx, p.domid, "hvm_op");
}

} // namespace

HypercallResult do_hvm_op(HypercallContext& ctx)
{
    uint64_t arg = ctx.arg(1);
    switch (ctx.cmd(0)) {
    case HVMOP_set_param: {
        auto p = TRY(ctx.guest.read_obj<xen_hvm_param>(arg));
        TRY(check_param_target(ctx, p));
        TRY(ctx.domain.set_param(p.index, p.value, true));
        if (p.index == HVM_PARAM_CALLBACK_IRQ)
            ctx.domain.shared_info().latch_layout(ctx.mode64);
        return 0;
    }
    case HVMOP_get_param: {
        auto p = TRY(ctx.guest.read_obj<xen_hvm_param>(arg));
        TRY(check_param_target(ctx, p));
        p.value = TRY(ctx.domain.get_param(p.index));
        TRY(ctx.guest.write_obj(arg, p));
        return 0;
    }
    case HVMOP_set_evtchn_upcall_vector: {
        auto u = TRY(ctx.guest.read_obj<xen_hvm_evtchn_upcall_vector>(arg));
        if (u.vector < 0x10)
            return xen_fail(XEN_EINVAL, "upcall vector {:#x} is reserved", u.vector);
        if (u.vcpu >= ctx.domain.max_vcpus())
            return xen_fail(XEN_ENOENT, "upcall vector for vcpu {} which does not exist", u.vcpu);
        ctx.domain.vcpu(u.vcpu).upcall_vector.store(u.vector);
        ctx.domain.shared_info().latch_layout(ctx.mode64);
        // Xen asserts the new vector at once: whatever was flagged before is not stranded (a vCPU
        // left with evtchn_upcall_pending set would never see another 0 -> 1 edge).
        ctx.domain.deliver_upcall(u.vcpu);
        return 0;
    }
    case HVMOP_guest_request_vm_event:
        // The payload is the caller's registers; the argument must be NULL, as on Xen.
        if (arg != 0)
            return xen_fail(XEN_EINVAL, "guest_request_vm_event takes no argument");
        ctx.effect = HypercallEffect::GuestRequest;
        return 0;
    case HVMOP_get_time: {
        xen_hvm_get_time t { ctx.domain.platform().system_time_ns() };
        TRY(ctx.guest.write_obj(arg, t));
        return 0;
    }
    default:
        return xen_fail(XEN_ENOSYS, "hvm_op {} unknown", ctx.cmd(0));
    }
}

} // namespace xkvm::xen

// event_channel_op: binding, sending, masking.
#include "xen/abi/event_channel.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

bool is_self(const HypercallContext& ctx, domid_t d) { return d == DOMID_SELF || d == ctx.domain.domid(); }

// An operation on another domain: Xen looks the domain up first (ESRCH), then refuses (EPERM).
Unexpected<Error> foreign(const EventChannels& ec, domid_t dom, const char* what)
{
    if (!ec.domain_exists(dom))
        return xen_fail(XEN_ESRCH, "{}: domain {} does not exist", what, dom);
    return xen_fail(XEN_EPERM, "{} of domain {} needs privilege", what, dom);
}

template<typename T>
Result<T> read_arg(HypercallContext& ctx)
{
    return ctx.guest.read_obj<T>(ctx.arg(1));
}

} // namespace

HypercallResult do_event_channel_op(HypercallContext& ctx)
{
    EventChannels& ec = ctx.domain.evtchn();
    uint64_t arg = ctx.arg(1);
    switch (ctx.cmd(0)) {
    case EVTCHNOP_alloc_unbound: {
        auto a = TRY(read_arg<evtchn_alloc_unbound>(ctx));
        if (!is_self(ctx, a.dom))
            return foreign(ec, a.dom, "alloc_unbound");
        a.port = TRY(ec.alloc_unbound(a.remote_dom));
        TRY(ctx.guest.write_obj(arg, a));
        return 0;
    }
    case EVTCHNOP_bind_interdomain: {
        auto a = TRY(read_arg<evtchn_bind_interdomain>(ctx));
        a.local_port = TRY(ec.bind_interdomain(a.remote_dom, a.remote_port));
        TRY(ctx.guest.write_obj(arg, a));
        return 0;
    }
    case EVTCHNOP_bind_virq: {
        auto a = TRY(read_arg<evtchn_bind_virq>(ctx));
        a.port = TRY(ec.bind_virq(a.virq, a.vcpu));
        TRY(ctx.guest.write_obj(arg, a));
        return 0;
    }
    case EVTCHNOP_bind_ipi: {
        auto a = TRY(read_arg<evtchn_bind_ipi>(ctx));
        a.port = TRY(ec.bind_ipi(a.vcpu));
        TRY(ctx.guest.write_obj(arg, a));
        return 0;
    }
    case EVTCHNOP_close: {
        auto a = TRY(read_arg<evtchn_close>(ctx));
        TRY(ec.close(a.port));
        return 0;
    }
    case EVTCHNOP_send: {
        auto a = TRY(read_arg<evtchn_send>(ctx));
        TRY(ec.send(a.port));
        return 0;
    }
    case EVTCHNOP_status: {
        auto a = TRY(read_arg<evtchn_status>(ctx));
        if (!is_self(ctx, a.dom))
            return foreign(ec, a.dom, "status");
        evtchn_status st = TRY(ec.status(a.port));
        st.dom = a.dom;
        TRY(ctx.guest.write_obj(arg, st));
        return 0;
    }
    case EVTCHNOP_bind_vcpu: {
        auto a = TRY(read_arg<evtchn_bind_vcpu>(ctx));
        TRY(ec.bind_vcpu(a.port, a.vcpu));
        return 0;
    }
    case EVTCHNOP_unmask: {
        auto a = TRY(read_arg<evtchn_unmask>(ctx));
        TRY(ec.unmask(a.port));
        return 0;
    }
    case EVTCHNOP_reset: {
        auto a = TRY(read_arg<evtchn_reset>(ctx));
        if (!is_self(ctx, a.dom))
            return foreign(ec, a.dom, "reset");
        TRY(ec.reset());
        return 0;
    }
    default:
        return xen_fail(XEN_ENOSYS, "event_channel_op {} unknown", ctx.cmd(0));
    }
}

} // namespace xkvm::xen

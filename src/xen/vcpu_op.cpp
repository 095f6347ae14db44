// vcpu_op: bringing vCPUs up and down, where their vcpu_info lives, and their PV timers.
#include "xen/abi/sched.h"
#include "xen/abi/vcpu.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/vcpu_context.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

HypercallResult initialise(HypercallContext& ctx, uint32_t vcpu)
{
    auto hvm = TRY(ctx.guest.read_obj<vcpu_hvm_context>(ctx.arg(2)));
    x86::CpuState state = TRY(cpu_state_from_hvm_context(hvm, ctx.domain.physmap()));
    VcpuXenState& st = ctx.domain.vcpu(vcpu);
    if (st.initialised.exchange(true))
        return xen_fail(XEN_EEXIST, "vcpu {} is initialised already", vcpu);
    if (auto r = ctx.domain.platform().vcpu_initialise(vcpu, state); !r) {
        st.initialised = false;
        return make_unexpected(r.release_error());
    }
    return 0;
}

} // namespace

HypercallResult do_vcpu_op(HypercallContext& ctx)
{
    unsigned cmd = ctx.cmd(0);
    uint32_t vcpu = static_cast<uint32_t>(ctx.args[1]);
    if (vcpu >= ctx.domain.max_vcpus())
        return xen_fail(XEN_ENOENT, "vcpu_op {} on vcpu {} which does not exist", cmd, vcpu);
    Domain& d = ctx.domain;
    uint64_t arg = ctx.arg(2);
    switch (cmd) {
    case VCPUOP_initialise:
        // A vCPU beyond the 32 in shared_info needs its vcpu_info registered first.
        if (!d.shared_info().vcpu_info(vcpu))
            return xen_fail(XEN_EINVAL, "vcpu {} has no vcpu_info yet", vcpu);
        return initialise(ctx, vcpu);
    case VCPUOP_up:
        if (!d.vcpu(vcpu).initialised)
            return xen_fail(XEN_EINVAL, "vcpu {} has no start state (VCPUOP_initialise)", vcpu);
        TRY(d.platform().vcpu_up(vcpu));
        return 0;
    case VCPUOP_down: {
        // The last vCPU going down powers the domain off, as on Xen.
        bool others_up = false;
        for (uint32_t i = 0; i < d.max_vcpus() && !others_up; ++i)
            others_up = i != vcpu && d.platform().vcpu_is_up(i);
        if (!others_up) {
            ctx.effect = HypercallEffect::Shutdown;
            ctx.shutdown_reason = SHUTDOWN_poweroff;
            return 0;
        }
        TRY(d.platform().vcpu_down(vcpu));
        return 0;
    }
    case VCPUOP_is_up:
        return d.platform().vcpu_is_up(vcpu) ? 1 : 0;
    case VCPUOP_register_vcpu_info: {
        auto info = TRY(ctx.guest.read_obj<vcpu_register_vcpu_info>(arg));
        TRY(d.register_vcpu_info(vcpu, info.mfn, info.offset));
        return 0;
    }
    case VCPUOP_set_periodic_timer: {
        // Unlike the single-shot timer, any vCPU's periodic timer may be set or stopped.
        auto t = TRY(ctx.guest.read_obj<vcpu_set_periodic_timer>(arg));
        TRY(d.timers().set_periodic(vcpu, t.period_ns));
        return 0;
    }
    case VCPUOP_stop_periodic_timer:
        d.timers().stop_periodic(vcpu);
        return 0;
    case VCPUOP_set_singleshot_timer: {
        if (vcpu != ctx.vcpu_id)
            return xen_fail(XEN_EINVAL, "a vcpu sets only its own timers");
        auto t = TRY(ctx.guest.read_obj<vcpu_set_singleshot_timer>(arg));
        TRY(d.timers().set_singleshot(vcpu, t.timeout_abs_ns, t.flags & VCPU_SSHOTTMR_future));
        return 0;
    }
    case VCPUOP_stop_singleshot_timer:
        if (vcpu != ctx.vcpu_id)
            return xen_fail(XEN_EINVAL, "a vcpu stops only its own timers");
        d.timers().stop_singleshot(vcpu);
        return 0;
    default:
        return xen_fail(XEN_ENOSYS, "vcpu_op {} unknown", cmd);
    }
}

HypercallResult do_set_timer_op(HypercallContext& ctx)
{
    // A 32-bit caller passes the 64-bit deadline in two registers.
    uint64_t timeout = ctx.mode64 ? ctx.args[0] : ((ctx.args[1] & 0xffffffffu) << 32) | (ctx.args[0] & 0xffffffffu);
    VcpuTimers& timers = ctx.domain.timers();
    if (timeout == 0) {
        timers.stop_singleshot(ctx.vcpu_id);
        return 0;
    }
    // Xen's workaround for guests whose jiffies wrapped: a deadline that is negative, or more
    // than 2^50 ns (about 13 days) away, fires in 100 ms instead of never or at once.
    uint64_t now = ctx.domain.platform().system_time_ns();
    if (static_cast<int64_t>(timeout) < 0 || (timeout > now && ((timeout - now) >> 50) != 0))
        timeout = now + VcpuTimers::kHugeTimeoutNs;
    TRY(timers.set_singleshot(ctx.vcpu_id, timeout, false));
    return 0;
}

} // namespace xkvm::xen

// vcpu_op: bringing vCPUs up and down, and their state.
#include "xen/abi/vcpu.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

HypercallResult do_vcpu_op(HypercallContext& ctx)
{
    unsigned cmd = ctx.cmd(0);
    uint32_t vcpu = static_cast<uint32_t>(ctx.args[1]);
    if (vcpu >= ctx.domain.max_vcpus())
        return xen_fail(XEN_EINVAL, "vcpu_op {} on vcpu {} which does not exist", cmd, vcpu);
    switch (cmd) {
    case VCPUOP_is_up:
        return ctx.domain.platform().vcpu_is_up(vcpu) ? 1 : 0;
    default:
        return xen_fail(XEN_ENOSYS, "vcpu_op {} unknown", cmd);
    }
}

} // namespace xkvm::xen

// xen_version: what Xen this is and what it offers the guest.
#include <cstring>

#include "xen/abi/version.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/version_info.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

constexpr char kDenied[] = "<denied>";

template<size_t N>
Status copy_string(HypercallContext& ctx, uint64_t va, const char* s)
{
    char buf[N] = {};
    std::strncpy(buf, s, N - 1);
    return ctx.guest.write(va, std::span(reinterpret_cast<const uint8_t*>(buf), N));
}

} // namespace

uint32_t feature_submap0()
{
    // What Xen 4.19 reports to translated (HVM and PVH) domUs, so a stock kernel takes the same
    // paths (common/kernel.c, do_xen_version: XENVER_get_features). hvm_pirqs needs PIRQ
    // emulation, which libxl 4.19 leaves off by default and xkvm does not have;
    // supervisor_mode_kernel was PVHv1's and is set for no guest. Xen 4.18+ also offers
    // runstate_phys_area and vcpu_time_phys_area: xkvm lacks those two vcpu_ops, so it does not
    // offer them (docs/xen-differences.md, no_phys_area_ops).
    return (1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_auto_translated_physmap)
        | (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock)
        | (1u << XENFEAT_memory_op_vnode_supported) | (1u << XENFEAT_not_direct_mapped);
}

HypercallResult do_xen_version(HypercallContext& ctx)
{
    uint64_t arg = ctx.arg(1);
    switch (ctx.cmd(0)) {
    case XENVER_version:
        return (kXenMajor << 16) | kXenMinor;
    case XENVER_extraversion:
        TRY(copy_string<XEN_EXTRAVERSION_LEN>(ctx, arg, kXenExtraversion));
        return 0;
    case XENVER_compile_info: {
        xen_compile_info info {};
        std::strncpy(info.compiler, kCompiler, sizeof(info.compiler) - 1);
        std::strncpy(info.compile_by, "xkvm", sizeof(info.compile_by) - 1);
        std::strncpy(info.compile_domain, "xkvm", sizeof(info.compile_domain) - 1);
        std::strncpy(info.compile_date, __DATE__ " " __TIME__, sizeof(info.compile_date) - 1);
        TRY(ctx.guest.write_obj(arg, info));
        return 0;
    }
    case XENVER_capabilities:
        TRY(copy_string<XEN_CAPABILITIES_INFO_LEN>(ctx, arg, kXenCapabilities));
        return 0;
    case XENVER_changeset:
        TRY(copy_string<XEN_CHANGESET_INFO_LEN>(ctx, arg, kXenChangeset));
        return 0;
    case XENVER_platform_parameters:
        // virt_start is a PV guest's hypervisor hole; HVM and PVH callers get 0, in their own
        // layout (common/kernel.c, do_xen_version).
        if (ctx.mode64)
            TRY(ctx.guest.write_obj<uint64_t>(arg, 0));
        else
            TRY(ctx.guest.write_obj<uint32_t>(arg, 0));
        return 0;
    case XENVER_get_features: {
        xen_feature_info fi = TRY(ctx.guest.read_obj<xen_feature_info>(arg));
        if (fi.submap_idx >= XENFEAT_NR_SUBMAPS)
            return xen_fail(XEN_EINVAL, "feature submap {} does not exist", fi.submap_idx);
        fi.submap = feature_submap0();
        TRY(ctx.guest.write_obj(arg, fi));
        return 0;
    }
    case XENVER_pagesize:
        if (arg != 0)
            return xen_fail(XEN_EINVAL, "xen_version pagesize takes no argument");
        return 4096;
    case XENVER_guest_handle:
        TRY(ctx.guest.write(arg, ctx.domain.setup().handle));
        return 0;
    case XENVER_commandline:
        // Unprivileged domains get the placeholder, not an error.
        TRY(ctx.guest.write(arg, std::span(reinterpret_cast<const uint8_t*>(kDenied), sizeof(kDenied))));
        return 0;
    case XENVER_build_id:
        return xen_fail(XEN_EPERM, "xen_version {} is for privileged domains", ctx.cmd(0));
    default:
        return xen_fail(XEN_ENOSYS, "xen_version {} unknown", ctx.cmd(0));
    }
}

} // namespace xkvm::xen

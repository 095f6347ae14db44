#include "toolstack/plan/refusals.h"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

namespace xkvm::plan {

using config::DomainType;

std::string where(const PlanContext& ctx, std::initializer_list<std::string_view> keys, std::optional<size_t> item)
{
    if (!ctx.source)
        return {};
    for (std::string_view key : keys) {
        const config::Setting* s = ctx.source->find(key);
        if (!s)
            continue;
        const config::Position* p = &s->value.pos;
        if (item && s->value.kind == config::Value::Kind::List && *item < s->value.items.size())
            p = &s->value.items[*item].pos;
        return fmt::format("{}:{}:{}: ", p->file, p->line, p->column);
    }
    return {};
}

Unexpected<Error> refuse(const PlanContext& ctx, std::initializer_list<std::string_view> keys, int code,
                         std::string_view message)
{
    return { Error { code, where(ctx, keys) + std::string(message) } };
}

Unexpected<Error> refuse(const PlanContext& ctx, std::initializer_list<std::string_view> keys, Error e)
{
    return refuse(ctx, keys, e.code, e.message);
}

Unexpected<Error> refuse_item(const PlanContext& ctx, std::string_view key, size_t item, int code, std::string_view message)
{
    return { Error { code, where(ctx, { key }, item) + std::string(message) } };
}

namespace {

// Without type= or builder= at all, the message points at the file's start: what is wrong is what it
// leaves out (xl's default is PV).
Unexpected<Error> pv_refusal(const PlanContext& ctx)
{
    const bool implicit = ctx.source && !ctx.source->find("type") && !ctx.source->find("builder");
    std::string at = where(ctx, { "type", "builder" });
    if (at.empty() && ctx.source)
        at = fmt::format("{}:1:1: ", ctx.source->source);
    return make_unexpected(Error { EOPNOTSUPP,
        at + fmt::format("{}: xkvm cannot run PV guests, only HVM and PVH ones. A kernel with PVH support (Linux "
                         "4.11 and later, FreeBSD, NetBSD) boots with type=\"pvh\" and the same kernel=",
                         implicit ? "no type= given, so this is a PV guest (xl's default)" : "a PV guest") });
}

} // namespace

// Kernel, ramdisk and command line, given the type: what xkvm can boot and what it cannot.
Status check_boot_shape(const config::DomainConfig& cfg, const PlanContext& ctx, std::vector<std::string>& warnings)
{
    if (cfg.type == DomainType::Pv)
        return pv_refusal(ctx);
    if (cfg.type == DomainType::Hvm) {
        if (cfg.firmware_override.empty())
            return refuse(ctx, { "type", "builder" }, EOPNOTSUPP,
                fmt::format("type=\"hvm\" needs firmware_override=: xkvm has no built-in HVM firmware (hvmloader, "
                            "SeaBIOS or OVMF){}. Boot the kernel directly with type=\"pvh\" and kernel=, or give "
                            "firmware_override= the ELF firmware image to run",
                            cfg.kernel.empty() ? "" : fmt::format(", and kernel=\"{}\" is not used for HVM guests", cfg.kernel)));
        if (!cfg.kernel.empty() || !cfg.ramdisk.empty() || !cfg.cmdline.empty())
            return refuse(ctx, { "kernel", "ramdisk", "cmdline", "extra", "root" }, EOPNOTSUPP,
                "type=\"hvm\": kernel=, ramdisk= and cmdline= (or root=/extra=) ask for direct kernel boot, which "
                "xkvm does for PVH guests only; use type=\"pvh\", or leave them out and let the firmware load the "
                "kernel");
        return {};
    }
    if (cfg.kernel.empty())
        return refuse(ctx, { "firmware_override", "type" }, EOPNOTSUPP,
            "type=\"pvh\" needs kernel=: xkvm boots PVH guests straight into their kernel, and PVH firmware "
            "(firmware_override=) is not supported yet");
    if (!cfg.firmware_override.empty())
        warnings.push_back(fmt::format("firmware_override=\"{}\" is ignored: PVH guests boot kernel= directly",
                                       cfg.firmware_override));
    return {};
}

namespace {

Status check_vnuma(const config::DomainConfig& cfg, const PlanContext& ctx)
{
    if (!cfg.vnuma.empty())
        return refuse(ctx, { "vnuma" }, EOPNOTSUPP,
            fmt::format("vnuma=: xkvm cannot give a guest a virtual NUMA topology yet ({} virtual node{} asked for); "
                        "remove vnuma= to create it with a flat topology (nodes= and cpus= still place it on host "
                        "nodes)", cfg.vnuma.size(), cfg.vnuma.size() == 1 ? "" : "s"));
    return {};
}

Status check_disks(const config::DomainConfig& cfg, const PlanContext& ctx)
{
    if (!cfg.disks.empty())
        return refuse_item(ctx, "disk", 0, EOPNOTSUPP,
            fmt::format("disk=: xkvm has no PV block backend yet, so {} would not reach the guest; remove disk= "
                        "(and boot from kernel= and ramdisk=) to create the domain without disks",
                        cfg.disks.size() == 1 ? "vdev " + cfg.disks[0].vdev : fmt::format("its {} disks", cfg.disks.size())));
    return {};
}

Status check_vifs(const config::DomainConfig& cfg, const PlanContext& ctx)
{
    if (!cfg.vifs.empty())
        return refuse_item(ctx, "vif", 0, EOPNOTSUPP,
            fmt::format("vif=: xkvm has no PV network backend yet, so {} would not reach the guest; remove vif= to "
                        "create the domain without network", cfg.vifs.size() == 1 ? "the vif" : fmt::format("its {} vifs",
                                                                                              cfg.vifs.size())));
    return {};
}

} // namespace

Status check_unsupported_devices(const config::DomainConfig& cfg, const PlanContext& ctx)
{
    TRY(check_vnuma(cfg, ctx));
    TRY(check_disks(cfg, ctx));
    return check_vifs(cfg, ctx);
}

Status check_pci_names(const config::DomainConfig& cfg, const PlanContext& ctx)
{
    for (size_t i = 0; i < cfg.pci.size(); i++)
        if (cfg.pci[i].name)
            return refuse_item(ctx, "pci", i, EOPNOTSUPP,
                fmt::format("pci=: name={} names a device registered with `xl pci-assignable-add -n`; xkvm keeps no "
                            "such names, give the device's BDF instead",
                            *cfg.pci[i].name));
    return {};
}

std::vector<Error> config_refusals(const config::DomainConfig& cfg, const PlanContext& ctx,
                                   std::vector<std::string>& warnings)
{
    std::vector<Error> out;
    auto keep = [&](Status s) {
        if (!s)
            out.push_back(s.release_error());
    };
    keep(check_boot_shape(cfg, ctx, warnings));
    keep(check_vnuma(cfg, ctx));
    keep(check_disks(cfg, ctx));
    keep(check_vifs(cfg, ctx));
    keep(check_pci_names(cfg, ctx));
    if (!cfg.pci.empty() && std::none_of(cfg.pci.begin(), cfg.pci.end(), [](const auto& d) { return d.name.has_value(); }))
        keep(refuse(ctx, { "pci" }, EOPNOTSUPP,
            "pci=: PCI passthrough is not supported by xkvm yet (create checks the devices on the host, then refuses)"));
    return out;
}

} // namespace xkvm::plan

#include "toolstack/plan/plan.h"

#include <sys/random.h>

#include <cerrno>
#include <initializer_list>
#include <string_view>

#include <fmt/format.h>

#include "loader/loader.h"
#include "numa/affinity.h"
#include "rdm/host_devices.h"
#include "toolstack/plan/cpuid_plan.h"
#include "toolstack/plan/memory_plan.h"
#include "toolstack/plan/numa_plan.h"
#include "toolstack/plan/refusals.h"

namespace xkvm::plan {

namespace {

using config::DomainType;

loader::LoadRequest load_request(const config::DomainConfig& cfg)
{
    loader::LoadRequest req;
    const bool pvh = cfg.type == DomainType::Pvh;
    req.protocol = pvh ? loader::BootProtocol::Pvh : loader::BootProtocol::HvmFirmware;
    req.kernel = pvh ? cfg.kernel : cfg.firmware_override;
    req.ramdisk = cfg.ramdisk;
    req.cmdline = cfg.cmdline;
    return req;
}

// The files are read and parsed now, so a missing or malformed kernel fails before any domain exists.
Status check_boot_files(const config::DomainConfig& cfg, const PlanContext& ctx)
{
    const loader::LoadRequest req = load_request(cfg);
    const bool pvh = req.protocol == loader::BootProtocol::Pvh;
    if (auto r = loader::check_kernel_file(req.kernel, req.protocol); !r)
        return pvh ? refuse(ctx, { "kernel" }, r.release_error()) : refuse(ctx, { "firmware_override" }, r.release_error());
    if (auto r = loader::check_load_request(req); !r) {
        if (r.error().message.starts_with("ramdisk"))
            return refuse(ctx, { "ramdisk" }, r.release_error());
        return refuse(ctx, { "cmdline", "extra", "root" }, r.release_error());
    }
    return {};
}

// pci=: the precise host-side error first (missing, unbound, wrongly bound), then the plain fact that
// this build cannot pass devices through.
Status check_pci(const config::DomainConfig& cfg, const PlanContext& ctx)
{
    if (cfg.pci.empty())
        return {};
    TRY(check_pci_names(cfg, ctx));
    if (auto r = rdm::check_assignable(cfg.pci, ctx.host.sysfs_root); !r) {
        for (size_t i = 0; i < cfg.pci.size(); i++)
            if (r.error().message.find(cfg.pci[i].bdf.str()) != std::string::npos)
                return refuse_item(ctx, "pci", i, r.error().code, r.error().message);
        return refuse(ctx, { "pci" }, r.release_error());
    }
    std::vector<config::PciBdf> bdfs;
    for (const auto& d : cfg.pci)
        bdfs.push_back(d.bdf);
    return refuse(ctx, { "pci" }, EOPNOTSUPP,
        fmt::format("pci=: PCI passthrough is not supported by xkvm yet: {} {} present and bound for passthrough, "
                    "but this build cannot assign devices to a guest; remove pci= to start the domain without {}",
                    rdm::bdf_list_str(bdfs), bdfs.size() == 1 ? "is" : "are", bdfs.size() == 1 ? "it" : "them"));
}

std::string ram_ranges(const memory::MemoryMap& map)
{
    std::string out;
    uint64_t bytes = 0;
    for (const auto& e : map) {
        if (e.type != memory::RegionType::Ram)
            continue;
        out += (out.empty() ? "" : ", ") + rdm::range_str(e.base, e.end());
        bytes += e.size;
    }
    return fmt::format("{} ({:.1f} MiB)", out, static_cast<double>(bytes) / memory::MiB);
}

std::string affinity_summary(const numa::Topology& topo, const vmm::VmSpec& spec)
{
    if (spec.vcpu_affinity.empty())
        return "vCPU threads not pinned";
    std::string out = "vCPU threads pinned:";
    for (size_t i = 0; i < spec.vcpu_affinity.size(); ++i)
        out += fmt::format(" {}->{}", i,
            spec.vcpu_affinity[i].empty() ? "all" : numa::format_cpus(topo, numa::CpuSet::from_ids(spec.vcpu_affinity[i])));
    return out;
}

std::string make_summary(const DomainPlan& plan)
{
    const vmm::VmSpec& s = plan.spec;
    size_t rdm_kept = 0;
    for (const auto& r : plan.rdm_regions)
        rdm_kept += r.in_guest_map;
    std::string out = fmt::format("{} domain \"{}\" (domid {}): {} MiB RAM (maxmem {} MiB), {} vCPU{} (max {})\n",
        s.type == vmm::BootType::Pvh ? "PVH" : "HVM", s.name, s.domid, s.memory_mib, s.maxmem_mib, s.vcpus,
        s.vcpus == 1 ? "" : "s", s.max_vcpus);
    out += fmt::format("boot: {} {}{}{}\n", s.type == vmm::BootType::Pvh ? "kernel" : "firmware", s.kernel,
        s.ramdisk.empty() ? "" : ", ramdisk " + s.ramdisk, s.cmdline.empty() ? "" : ", cmdline \"" + s.cmdline + "\"");
    out += fmt::format("memory: RAM {}; {} of {} reserved device memory region{} kept\n", ram_ranges(s.memory_map),
        rdm_kept, plan.rdm_regions.size(), plan.rdm_regions.size() == 1 ? "" : "s");
    out += fmt::format("numa: {}; guest RAM {}; {}", plan.placement.reason,
        s.memory_nodes.empty() ? "on any node" : "bound to node(s) " + numa::NodeSet::from_ids(s.memory_nodes).to_string(),
        affinity_summary(plan.topology, s));
    return out;
}

} // namespace

std::string console_log_path(const std::string& log_dir, uint16_t domid)
{
    return fmt::format("{}/console/{}.log", log_dir, domid);
}

Result<std::array<uint8_t, 16>> random_uuid_v4()
{
    std::array<uint8_t, 16> b {};
    size_t got = 0;
    while (got < b.size()) {
        ssize_t n = ::getrandom(b.data() + got, b.size() - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return make_unexpected(Error::from_errno("getrandom for a domain UUID"));
        got += static_cast<size_t>(n);
    }
    b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40); // version 4: random
    b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
    return b;
}

Result<DomainPlan> plan_domain(const config::DomainConfig& cfg, const PlanContext& ctx)
{
    // A model read from JSON, or built by hand, gets the same checks as one from a file.
    if (auto bad = config::check_domain_config(cfg)) {
        const std::string at = where(ctx, { bad->key });
        return fail(EINVAL, "{}{}", at.empty() ? bad->key + ": " : at, bad->message);
    }
    if (ctx.domid == 0 || ctx.domid >= kFirstReservedDomid)
        return fail(EINVAL, "domid {} is not a guest domain id (1..{})", ctx.domid, kFirstReservedDomid - 1);

    DomainPlan plan;
    TRY(check_boot_shape(cfg, ctx, plan.warnings));
    TRY(check_unsupported_devices(cfg, ctx));
    TRY(check_boot_files(cfg, ctx));
    TRY(check_pci(cfg, ctx));

    auto mem = plan_memory(cfg, ctx.host);
    if (!mem)
        return refuse(ctx, { "rdm", "pci" }, mem.release_error());
    plan.warnings.insert(plan.warnings.end(), mem->warnings.begin(), mem->warnings.end());
    plan.rdm_regions = std::move(mem->regions);

    plan.topology = ctx.topology ? *ctx.topology : TRY(numa::Topology::detect());
    std::string numa_key;
    auto numa = plan_numa(cfg, plan.topology, ctx.vcpu_load, &numa_key);
    if (!numa)
        return numa_key.empty() ? make_unexpected(numa.release_error())
                                : refuse(ctx, { std::string_view(numa_key) }, numa.release_error());
    plan.warnings.insert(plan.warnings.end(), numa->warnings.begin(), numa->warnings.end());
    plan.placement = numa->placement;

    CpuidPlan cpuid = plan_cpuid(cfg.cpuid);
    plan.warnings.insert(plan.warnings.end(), cpuid.warnings.begin(), cpuid.warnings.end());

    vmm::VmSpec& s = plan.spec;
    s.domid = ctx.domid;
    s.name = cfg.name;
    if (cfg.uuid) {
        s.uuid = cfg.uuid->bytes;
    } else {
        s.uuid = TRY(random_uuid_v4());
        plan.uuid_generated = true;
    }
    s.type = cfg.type == DomainType::Pvh ? vmm::BootType::Pvh : vmm::BootType::Hvm;
    const loader::LoadRequest req = load_request(cfg);
    s.kernel = req.kernel;
    s.ramdisk = req.ramdisk;
    s.cmdline = req.cmdline;
    s.memory_mib = cfg.memory_mib;
    s.maxmem_mib = cfg.maxmem_mib;
    s.vcpus = cfg.vcpus;
    s.max_vcpus = cfg.maxvcpus;
    s.max_evtchn_port = kDefaultMaxEvtchnPort;
    s.memory_map = std::move(mem->map);
    s.cpuid = std::move(cpuid.overrides);
    s.vcpu_affinity = std::move(numa->vcpu_affinity);
    s.memory_nodes = std::move(numa->memory_nodes);
    s.console_log = ctx.console_log ? *ctx.console_log : console_log_path(ctx.log_dir, ctx.domid);

    plan.summary = make_summary(plan);
    return plan;
}

} // namespace xkvm::plan

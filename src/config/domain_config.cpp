#include "config/domain_config.h"

#include <algorithm>
#include <cctype>
#include <tuple>

#include "config/cpuset_spec.h"
#include "config/utf8.h"

namespace xkvm::config {

namespace {

constexpr std::array<std::pair<ShutdownAction, std::string_view>, 7> kActions { {
    { ShutdownAction::Destroy, "destroy" },
    { ShutdownAction::Restart, "restart" },
    { ShutdownAction::RenameRestart, "rename-restart" },
    { ShutdownAction::Preserve, "preserve" },
    { ShutdownAction::CoredumpDestroy, "coredump-destroy" },
    { ShutdownAction::CoredumpRestart, "coredump-restart" },
    { ShutdownAction::SoftReset, "soft-reset" },
} };

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

std::string compose_cmdline(const DomainConfigInput& in)
{
    if (in.cmdline)
        return *in.cmdline;
    std::string out;
    if (in.root && !in.root->empty())
        out = "root=" + *in.root;
    if (in.extra && !in.extra->empty())
        out += (out.empty() ? "" : " ") + *in.extra;
    return out;
}

std::optional<Invalid> invalid(std::string key, std::string message, std::optional<size_t> item = std::nullopt)
{
    return Invalid { std::move(key), item, std::move(message) };
}

std::optional<Invalid> check_affinity(const AffinitySpec& a, std::string_view key, uint32_t maxvcpus)
{
    switch (a.form) {
    case AffinitySpec::Form::Unset:
        if (!a.sets.empty())
            return invalid(std::string(key), "an unset affinity has no CPU sets");
        return std::nullopt;
    case AffinitySpec::Form::AllVcpus:
        if (a.sets.size() != 1)
            return invalid(std::string(key), "a single CPU list applies to all vCPUs; found several");
        break;
    case AffinitySpec::Form::PerVcpu:
        if (a.sets.empty())
            return invalid(std::string(key), "the per-vCPU list is empty");
        if (a.sets.size() > maxvcpus)
            return invalid(std::string(key), fmt::format("lists {} vCPUs but the guest has maxvcpus = {}", a.sets.size(),
                                                         maxvcpus));
        break;
    }
    for (size_t i = 0; i < a.sets.size(); i++) {
        bool includes = std::any_of(a.sets[i].terms.begin(), a.sets[i].terms.end(),
                                    [](const CpuSetTerm& t) { return !t.exclude; });
        if (!includes)
            return invalid(std::string(key), "a CPU list must include some CPUs, nodes or all", i);
        for (const auto& t : a.sets[i].terms) {
            uint32_t max = t.kind == CpuSetTerm::Kind::Nodes ? kMaxNodeId : kMaxCpuId;
            if (t.first > t.last || t.last > max || (t.kind == CpuSetTerm::Kind::All && (t.exclude || t.first || t.last)))
                return invalid(std::string(key), fmt::format("malformed CPU list term in '{}'", format_cpuset(a.sets[i])), i);
        }
    }
    return std::nullopt;
}

std::optional<Invalid> check_devices(const DomainConfig& cfg)
{
    for (size_t i = 0; i < cfg.disks.size(); i++) {
        const auto& d = cfg.disks[i];
        if (d.vdev.empty())
            return invalid("disk", "a disk has no vdev", i);
        if (d.target.empty() != (d.format == DiskFormat::Empty) || (d.target.empty() && !d.is_cdrom))
            return invalid("disk", "only a cdrom may have an empty target, and then its format is empty", i);
        for (const std::string* t : { &d.target, &d.vdev, &d.script, &d.backend_domname })
            if (utf8_error(*t))
                return invalid("disk", "a disk parameter is not valid UTF-8", i);
        for (size_t j = 0; j < i; j++)
            if (cfg.disks[j].vdev == d.vdev)
                return invalid("disk", fmt::format("vdev {} is used twice", d.vdev), i);
    }
    for (size_t i = 0; i < cfg.vifs.size(); i++) {
        const auto& v = cfg.vifs[i];
        if (!v.devid)
            return invalid("vif", "a vif has no devid", i);
        if ((v.rate_bytes_per_interval == 0) != (v.rate_interval_usecs == 0))
            return invalid("vif", "a rate needs both bytes per interval and the interval", i);
        for (const std::string* t : { &v.bridge, &v.gatewaydev, &v.model, &v.vifname, &v.script, &v.ip, &v.backend_domname })
            if (utf8_error(*t))
                return invalid("vif", "a vif parameter is not valid UTF-8", i);
        for (size_t j = 0; j < i; j++)
            if (cfg.vifs[j].devid == v.devid)
                return invalid("vif", fmt::format("devid {} is used twice", *v.devid), i);
    }
    return std::nullopt;
}

// xl's rules: the virtual nodes hold all of maxmem and every vCPU exactly once, and each has one
// distance per virtual node.
std::optional<Invalid> check_vnuma(const DomainConfig& cfg)
{
    if (cfg.vnuma.empty())
        return std::nullopt;
    uint64_t mib = 0;
    std::vector<int> owner(cfg.maxvcpus, -1);
    for (size_t i = 0; i < cfg.vnuma.size(); i++) {
        const auto& n = cfg.vnuma[i];
        mib += n.memory_mib;
        if (n.distances.size() != cfg.vnuma.size())
            return invalid("vnuma", fmt::format("virtual node {} has {} distances for {} virtual nodes", i,
                                                n.distances.size(), cfg.vnuma.size()), i);
        if (n.memory_mib == 0 || !std::is_sorted(n.vcpus.begin(), n.vcpus.end())
            || std::adjacent_find(n.vcpus.begin(), n.vcpus.end()) != n.vcpus.end())
            return invalid("vnuma", fmt::format("virtual node {} needs a size and sorted, unique vCPUs", i), i);
        for (uint32_t c : n.vcpus) {
            if (c >= cfg.maxvcpus)
                return invalid("vnuma", fmt::format("vCPU {} is beyond maxvcpus = {}", c, cfg.maxvcpus), i);
            if (owner[c] >= 0)
                return invalid("vnuma", fmt::format("vCPU {} is in virtual nodes {} and {}", c, owner[c], i), i);
            owner[c] = static_cast<int>(i);
        }
    }
    for (size_t c = 0; c < owner.size(); c++)
        if (owner[c] < 0)
            return invalid("vnuma", fmt::format("vCPU {} is in no virtual node (every vCPU up to maxvcpus must be)", c));
    if (mib != cfg.maxmem_mib)
        return invalid("vnuma", fmt::format("the virtual nodes hold {} MiB but maxmem is {} MiB; the sizes must add up "
                                            "to it", mib, cfg.maxmem_mib));
    return std::nullopt;
}

} // namespace

std::optional<Uuid> Uuid::parse(std::string_view s)
{
    if (s.size() != 36)
        return std::nullopt;
    Uuid u;
    size_t b = 0;
    for (size_t i = 0; i < s.size();) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return std::nullopt;
            i++;
            continue;
        }
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        u.bytes[b++] = static_cast<uint8_t>(hi * 16 + lo);
        i += 2;
    }
    return u;
}

std::string Uuid::str() const
{
    std::string out;
    for (size_t i = 0; i < bytes.size(); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out += '-';
        out += fmt::format("{:02x}", bytes[i]);
    }
    return out;
}

bool Uuid::is_nil() const
{
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

std::string_view xl_name(ShutdownAction a)
{
    for (const auto& [action, name] : kActions)
        if (action == a)
            return name;
    return "?";
}

std::optional<ShutdownAction> shutdown_action_from_xl(std::string_view s)
{
    for (const auto& [action, name] : kActions)
        if (name == s)
            return action;
    return std::nullopt;
}

std::optional<std::string> name_problem(std::string_view name)
{
    if (name.empty())
        return "the name must not be empty";
    if (name.size() > kMaxNameLength)
        return fmt::format("the name is longer than {} characters", kMaxNameLength);
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '/' || c == '\\' || c == '"' || c == '\'')
            return fmt::format("the name may only contain printable ASCII without blanks, quotes, '/' or '\\'");
    }
    if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return "a name made only of digits would be mistaken for a domain id";
    if (name == "Domain-0")
        return "'Domain-0' is the name of the control domain";
    return std::nullopt;
}

DomainConfig apply_defaults(const DomainConfigInput& in)
{
    DomainConfig cfg;
    cfg.name = in.name.value_or("");
    cfg.uuid = in.uuid;
    cfg.type = in.type.value_or(DomainType::Hvm);

    // xl: memory sets both target and maximum, maxmem raises the maximum; libxl: 32 MiB otherwise.
    if (in.memory_mib) {
        cfg.memory_mib = *in.memory_mib;
        cfg.maxmem_mib = in.maxmem_mib.value_or(*in.memory_mib);
    } else {
        cfg.memory_mib = cfg.maxmem_mib = in.maxmem_mib.value_or(kDefaultMemoryMiB);
    }
    cfg.vcpus = in.vcpus.value_or(1);
    cfg.maxvcpus = in.maxvcpus.value_or(cfg.vcpus);
    cfg.cpu_weight = in.cpu_weight.value_or(kDefaultCpuWeight);
    cfg.cpu_cap = in.cpu_cap.value_or(0);

    cfg.kernel = in.kernel.value_or("");
    cfg.ramdisk = in.ramdisk.value_or("");
    cfg.cmdline = compose_cmdline(in);
    cfg.firmware_override = in.firmware_override.value_or("");

    cfg.on_poweroff = in.on_poweroff.value_or(ShutdownAction::Destroy);
    cfg.on_reboot = in.on_reboot.value_or(ShutdownAction::Restart);
    cfg.on_crash = in.on_crash.value_or(ShutdownAction::Destroy);
    cfg.on_watchdog = in.on_watchdog.value_or(ShutdownAction::Destroy);
    cfg.on_soft_reset = in.on_soft_reset.value_or(ShutdownAction::SoftReset);

    cfg.serial = in.serial;
    cfg.cpuid = in.cpuid;

    // Per device: its own setting, else the pci_* global, else xl-pci-configuration(5)'s default.
    for (const auto& d : in.pci) {
        PciSpec spec;
        spec.bdf = d.bdf.value_or(PciBdf {});
        spec.vslot = d.vslot;
        spec.permissive = d.permissive.value_or(in.pci_permissive.value_or(false));
        spec.msitranslate = d.msitranslate.value_or(in.pci_msitranslate.value_or(false));
        spec.seize = d.seize.value_or(in.pci_seize.value_or(false));
        spec.power_mgmt = d.power_mgmt.value_or(in.pci_power_mgmt.value_or(false));
        spec.rdm_policy = d.rdm_policy.value_or(RdmPolicy::Strict);
        spec.name = d.name;
        cfg.pci.push_back(std::move(spec));
    }
    cfg.rdm.strategy = in.rdm.strategy.value_or(RdmStrategy::None);
    cfg.rdm.policy = in.rdm.policy.value_or(RdmPolicy::Relaxed);
    cfg.rdm_mem_boundary_mib = in.rdm_mem_boundary_mib.value_or(kDefaultRdmMemBoundaryMiB);

    cfg.cpus = in.cpus;
    cfg.cpus_soft = in.cpus_soft;
    cfg.nodes = in.nodes.value_or(std::vector<uint32_t> {});
    std::sort(cfg.nodes.begin(), cfg.nodes.end());
    cfg.nodes.erase(std::unique(cfg.nodes.begin(), cfg.nodes.end()), cfg.nodes.end());
    cfg.disks = in.disks;
    // xl-network-configuration(5): a vif's devid is its index in the list unless given.
    cfg.vifs = in.vifs;
    for (size_t i = 0; i < cfg.vifs.size(); i++)
        if (!cfg.vifs[i].devid)
            cfg.vifs[i].devid = static_cast<uint32_t>(i);
    cfg.vnuma = in.vnuma;
    return cfg;
}

std::optional<Invalid> check_domain_config(const DomainConfig& cfg)
{
    if (auto why = name_problem(cfg.name))
        return invalid("name", *why);
    if (cfg.uuid && cfg.uuid->is_nil())
        return invalid("uuid", "the nil UUID is not a domain UUID");
    if (cfg.memory_mib < 1 || cfg.memory_mib > kMaxMemoryMiB)
        return invalid("memory", fmt::format("memory must be between 1 and {} MiB", kMaxMemoryMiB));
    if (cfg.maxmem_mib > kMaxMemoryMiB)
        return invalid("maxmem", fmt::format("maxmem must be at most {} MiB", kMaxMemoryMiB));
    if (cfg.maxmem_mib < cfg.memory_mib)
        return invalid("maxmem", fmt::format("maxmem ({} MiB) must not be less than memory ({} MiB)", cfg.maxmem_mib,
                                             cfg.memory_mib));
    if (cfg.vcpus < 1 || cfg.vcpus > kMaxVcpus)
        return invalid("vcpus", fmt::format("vcpus must be between 1 and {}", kMaxVcpus));
    if (cfg.cpu_weight < 1 || cfg.cpu_weight > kMaxCpuWeight)
        return invalid("cpu_weight", fmt::format("cpu_weight must be between 1 and {}", kMaxCpuWeight));
    if (cfg.cpu_cap > kMaxCapPerVcpu * cfg.maxvcpus)
        return invalid("cap", fmt::format("cap must be between 0 and {} (100 per vCPU, maxvcpus = {})",
                                           kMaxCapPerVcpu * cfg.maxvcpus, cfg.maxvcpus));
    if (cfg.maxvcpus > kMaxVcpus)
        return invalid("maxvcpus", fmt::format("maxvcpus must be at most {}", kMaxVcpus));
    if (cfg.maxvcpus < cfg.vcpus)
        return invalid("maxvcpus", fmt::format("maxvcpus ({}) must not be less than vcpus ({})", cfg.maxvcpus, cfg.vcpus));
    for (auto [key, text] : { std::pair<const char*, const std::string*> { "kernel", &cfg.kernel },
                              { "ramdisk", &cfg.ramdisk }, { "cmdline", &cfg.cmdline },
                              { "firmware_override", &cfg.firmware_override } })
        if (utf8_error(*text))
            return invalid(key, fmt::format("{} is not valid UTF-8", key));
    for (size_t i = 0; i < cfg.serial.size(); i++)
        if (utf8_error(cfg.serial[i]))
            return invalid("serial", "a serial device is not valid UTF-8", i);
    for (size_t i = 0; i < cfg.pci.size(); i++)
        if (cfg.pci[i].name && utf8_error(*cfg.pci[i].name))
            return invalid("pci", "a device name is not valid UTF-8", i);
    if (auto bad = check_devices(cfg))
        return bad;
    if (auto bad = check_vnuma(cfg))
        return bad;
    if (cfg.type == DomainType::Pvh && cfg.kernel.empty() && cfg.firmware_override.empty())
        return invalid("type", "a PVH guest needs kernel= (direct boot) or firmware_override=");
    for (size_t i = 0; i < cfg.serial.size(); i++)
        if (cfg.serial[i].empty())
            return invalid("serial", "a serial device must not be empty", i);
    for (size_t i = 0; i < cfg.cpuid.size(); i++) {
        const auto& p = cfg.cpuid[i];
        if ((p.set_mask & p.clear_mask) || (p.set_mask & p.host_mask) || (p.clear_mask & p.host_mask))
            return invalid("cpuid", "a bit is given two policies", i);
        if (i > 0 && !(std::tie(cfg.cpuid[i - 1].leaf, cfg.cpuid[i - 1].subleaf, cfg.cpuid[i - 1].reg)
                       < std::tie(p.leaf, p.subleaf, p.reg)))
            return invalid("cpuid", "entries must be sorted by leaf, subleaf and register, each register once", i);
    }
    for (size_t i = 0; i < cfg.pci.size(); i++) {
        const auto& d = cfg.pci[i];
        if (d.name && d.name->empty())
            return invalid("pci", "an empty device name", i);
        if (!d.name && (d.bdf.dev > kMaxPciDev || d.bdf.func > kMaxPciFunc))
            return invalid("pci", fmt::format("{} is not a valid BDF", d.bdf.str()), i);
        if (d.vslot && *d.vslot > kMaxPciDev)
            return invalid("pci", fmt::format("vslot 0x{:x} is out of range (at most 0x{:x})", *d.vslot, kMaxPciDev), i);
        for (size_t j = 0; j < i; j++) {
            const auto& e = cfg.pci[j];
            if (d.name ? e.name == d.name : (!e.name && e.bdf == d.bdf))
                return invalid("pci", fmt::format("device {} is listed twice", d.name ? *d.name : d.bdf.str()), i);
        }
    }
    if (cfg.rdm_mem_boundary_mib > kMaxRdmMemBoundaryMiB)
        return invalid("rdm_mem_boundary", fmt::format("rdm_mem_boundary must be at most {} MiB", kMaxRdmMemBoundaryMiB));
    if (auto bad = check_affinity(cfg.cpus, "cpus", cfg.maxvcpus))
        return bad;
    if (auto bad = check_affinity(cfg.cpus_soft, "cpus_soft", cfg.maxvcpus))
        return bad;
    for (size_t i = 0; i < cfg.nodes.size(); i++) {
        if (cfg.nodes[i] > kMaxNodeId)
            return invalid("nodes", fmt::format("node {} is out of range (at most {})", cfg.nodes[i], kMaxNodeId), i);
        if (i > 0 && cfg.nodes[i - 1] >= cfg.nodes[i])
            return invalid("nodes", "nodes must be sorted and unique", i);
    }
    return std::nullopt;
}

} // namespace xkvm::config

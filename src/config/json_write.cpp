#include "config/cpuset_spec.h"
#include "config/json.h"
#include "config/json_devices.h"

namespace xkvm::config {

using nlohmann::json;

namespace {

json affinity_json(const AffinitySpec& a)
{
    if (a.form == AffinitySpec::Form::AllVcpus && a.sets.size() == 1)
        return format_cpuset(a.sets[0]);
    json list = json::array();
    for (const auto& s : a.sets)
        list.push_back(format_cpuset(s));
    return list;
}

json cpuid_json(const CpuidPolicy& policy)
{
    json out = json::array();
    for (size_t i = 0; i < policy.size();) {
        json entry = json::object();
        entry["leaf"] = policy[i].leaf;
        if (policy[i].subleaf)
            entry["subleaf"] = *policy[i].subleaf;
        size_t j = i;
        for (; j < policy.size() && policy[j].leaf == policy[i].leaf && policy[j].subleaf == policy[i].subleaf; j++)
            entry[std::string(reg_name(policy[j].reg))] = cpuid_bits_string(policy[j]);
        out.push_back(std::move(entry));
        i = j;
    }
    return out;
}

json pci_json(const PciSpec& d)
{
    json o = json::object();
    if (d.name) {
        o["name"] = *d.name;
    } else {
        o["domain"] = d.bdf.domain;
        o["bus"] = d.bdf.bus;
        o["dev"] = d.bdf.dev;
        o["func"] = d.bdf.func;
    }
    if (d.vslot)
        o["vdevfn"] = static_cast<uint32_t>(*d.vslot) << 3;
    o["msitranslate"] = d.msitranslate;
    o["power_mgmt"] = d.power_mgmt;
    o["permissive"] = d.permissive;
    o["seize"] = d.seize;
    o["rdm_policy"] = libxl_name(d.rdm_policy);
    return o;
}

} // namespace

std::string_view libxl_name(ShutdownAction a)
{
    switch (a) {
    case ShutdownAction::Destroy: return "destroy";
    case ShutdownAction::Restart: return "restart";
    case ShutdownAction::RenameRestart: return "restart_rename";
    case ShutdownAction::Preserve: return "preserve";
    case ShutdownAction::CoredumpDestroy: return "coredump_destroy";
    case ShutdownAction::CoredumpRestart: return "coredump_restart";
    case ShutdownAction::SoftReset: return "soft_reset";
    }
    return "?";
}

std::string_view libxl_name(DomainType t)
{
    return t == DomainType::Hvm ? "hvm" : t == DomainType::Pvh ? "pvh" : "pv";
}

std::string_view libxl_name(RdmPolicy p) { return p == RdmPolicy::Strict ? "strict" : "relaxed"; }

std::string_view libxl_name(RdmStrategy s) { return s == RdmStrategy::Host ? "host" : "ignore"; }

json to_json(const DomainConfig& cfg)
{
    json c_info = json::object();
    c_info["type"] = libxl_name(cfg.type);
    c_info["name"] = cfg.name;
    if (cfg.uuid)
        c_info["uuid"] = cfg.uuid->str();

    json b_info = json::object();
    b_info["max_vcpus"] = cfg.maxvcpus;
    json avail = json::array();
    for (uint32_t i = 0; i < cfg.vcpus; i++)
        avail.push_back(i);
    b_info["avail_vcpus"] = std::move(avail);
    if (cfg.cpus.form != AffinitySpec::Form::Unset)
        b_info["vcpu_hard_affinity_spec"] = affinity_json(cfg.cpus);
    if (cfg.cpus_soft.form != AffinitySpec::Form::Unset)
        b_info["vcpu_soft_affinity_spec"] = affinity_json(cfg.cpus_soft);
    if (!cfg.nodes.empty())
        b_info["nodemap"] = cfg.nodes;
    // libxl leaves unset scheduler parameters out: only what the config set is written.
    json sched = json::object();
    if (cfg.cpu_weight != kDefaultCpuWeight)
        sched["weight"] = cfg.cpu_weight;
    if (cfg.cpu_cap != 0)
        sched["cap"] = cfg.cpu_cap;
    if (!sched.empty())
        b_info["sched_params"] = std::move(sched);
    b_info["max_memkb"] = cfg.maxmem_mib * 1024;
    b_info["target_memkb"] = cfg.memory_mib * 1024;
    if (!cfg.cpuid.empty())
        b_info["cpuid"] = cpuid_json(cfg.cpuid);
    if (!cfg.kernel.empty())
        b_info["kernel"] = cfg.kernel;
    if (!cfg.cmdline.empty())
        b_info["cmdline"] = cfg.cmdline;
    if (!cfg.ramdisk.empty())
        b_info["ramdisk"] = cfg.ramdisk;

    json u = json::object();
    if (!cfg.firmware_override.empty())
        u["firmware"] = cfg.firmware_override;
    if (!cfg.serial.empty())
        u["serial_list"] = cfg.serial;
    u["rdm"] = json { { "strategy", libxl_name(cfg.rdm.strategy) }, { "policy", libxl_name(cfg.rdm.policy) } };
    u["rdm_mem_boundary_memkb"] = cfg.rdm_mem_boundary_mib * 1024;
    if (!cfg.vnuma.empty())
        b_info["vnuma_nodes"] = vnuma_json(cfg.vnuma);
    b_info["type." + std::string(libxl_name(cfg.type))] = std::move(u);

    json out = json::object();
    out["c_info"] = std::move(c_info);
    out["b_info"] = std::move(b_info);
    if (!cfg.disks.empty()) {
        json disks = json::array();
        for (const auto& d : cfg.disks)
            disks.push_back(disk_json(d));
        out["disks"] = std::move(disks);
    }
    if (!cfg.vifs.empty()) {
        json nics = json::array();
        for (const auto& v : cfg.vifs)
            nics.push_back(nic_json(v));
        out["nics"] = std::move(nics);
    }
    if (!cfg.pci.empty()) {
        json devs = json::array();
        for (const auto& d : cfg.pci)
            devs.push_back(pci_json(d));
        out["pcidevs"] = std::move(devs);
    }
    out["on_poweroff"] = libxl_name(cfg.on_poweroff);
    out["on_reboot"] = libxl_name(cfg.on_reboot);
    out["on_watchdog"] = libxl_name(cfg.on_watchdog);
    out["on_crash"] = libxl_name(cfg.on_crash);
    out["on_soft_reset"] = libxl_name(cfg.on_soft_reset);
    return out;
}

std::string to_json_text(const DomainConfig& cfg)
{
    // A checked model is valid UTF-8 throughout; replacing bad bytes keeps dump() from throwing on one that is not.
    return to_json(cfg).dump(4, ' ', false, json::error_handler_t::replace);
}

} // namespace xkvm::config

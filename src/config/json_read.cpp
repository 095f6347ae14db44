#include <exception>

#include "config/cpuset_spec.h"
#include "config/json.h"
#include "config/json_devices.h"
#include "config/json_util.h"

namespace xkvm::config {

using nlohmann::json;

namespace {

using namespace json_util;

ConfigResult<ShutdownAction> action_at(const json& root, std::string_view key)
{
    const json* j = TRY(member(root, "", key, false));
    if (!j)
        return ShutdownAction::Destroy; // libxl's initial value for every action
    auto s = TRY(as_string(*j, child("", key)));
    for (auto a : { ShutdownAction::Destroy, ShutdownAction::Restart, ShutdownAction::RenameRestart,
                    ShutdownAction::Preserve, ShutdownAction::CoredumpDestroy, ShutdownAction::CoredumpRestart,
                    ShutdownAction::SoftReset })
        if (libxl_name(a) == s)
            return a;
    return json_fail(child("", key), "unknown action \"{}\"", s);
}

ConfigResult<std::optional<RdmPolicy>> policy_from(const json& j, std::string_view path)
{
    auto s = TRY(as_string(j, path));
    if (s == "strict")
        return std::optional(RdmPolicy::Strict);
    if (s == "relaxed")
        return std::optional(RdmPolicy::Relaxed);
    if (s == "invalid")
        return std::optional<RdmPolicy>(); // libxl's "not set"
    return json_fail(path, "unknown rdm policy \"{}\"", s);
}

ConfigResult<AffinitySpec> affinity_from(const json* j, std::string_view path)
{
    AffinitySpec a;
    if (!j)
        return a;
    auto one = [&](const json& s, std::string_view p) -> ConfigResult<CpuSetSpec> {
        auto text = TRY(as_string(s, p));
        auto spec = parse_cpuset(text);
        if (!spec)
            return json_fail(p, "{}", spec.error().message);
        return spec.release_value();
    };
    if (j->is_string()) {
        a.form = AffinitySpec::Form::AllVcpus;
        a.sets.push_back(TRY(one(*j, path)));
        return a;
    }
    if (!j->is_array())
        return json_fail(path, "expected a CPU list string or an array of them");
    a.form = AffinitySpec::Form::PerVcpu;
    for (size_t i = 0; i < j->size(); i++)
        a.sets.push_back(TRY(one((*j)[i], child(path, i))));
    return a;
}

ConfigResult<uint64_t> uint_member(const json& obj, std::string_view path, std::string_view key, uint64_t max)
{
    const json* j = TRY(member(obj, path, key, true));
    return as_uint(*j, child(path, key), max);
}

ConfigResult<std::string> string_member(const json& obj, std::string_view path, std::string_view key)
{
    const json* j = TRY(member(obj, path, key, true));
    return as_string(*j, child(path, key));
}

ConfigResult<uint64_t> memkb_member(const json& obj, std::string_view path, std::string_view key)
{
    const json* j = TRY(member(obj, path, key, true));
    return memkb_as_mib(*j, child(path, key));
}

ConfigResult<AffinitySpec> affinity_member(const json& obj, std::string_view path, std::string_view key)
{
    const json* j = TRY(member(obj, path, key, false));
    return affinity_from(j, child(path, key));
}

ConfigResult<CpuidPolicy> cpuid_from(const json& j, std::string_view path)
{
    CpuidPolicy policy;
    if (!j.is_array())
        return json_fail(path, "expected an array");
    for (size_t i = 0; i < j.size(); i++) {
        auto p = child(path, i);
        if (!j[i].is_object())
            return json_fail(p, "expected an object");
        auto leaf = static_cast<uint32_t>(TRY(uint_member(j[i], p, "leaf", UINT32_MAX)));
        std::optional<uint32_t> subleaf;
        if (const json* s = TRY(member(j[i], p, "subleaf", false)))
            subleaf = static_cast<uint32_t>(TRY(as_uint(*s, child(p, "subleaf"), UINT32_MAX)));
        for (auto reg : { CpuidReg::Eax, CpuidReg::Ebx, CpuidReg::Ecx, CpuidReg::Edx }) {
            const json* bits = TRY(member(j[i], p, reg_name(reg), false));
            if (!bits)
                continue;
            auto rp = child(p, reg_name(reg));
            auto text = TRY(as_string(*bits, rp));
            CpuidRegPolicy& e = cpuid_entry(policy, leaf, subleaf, reg);
            if (auto r = set_cpuid_bits(e, text); !r)
                return json_fail(rp, "{}", r.error().message);
        }
    }
    return policy;
}

ConfigResult<PciSpec> pci_from(const json& j, std::string_view p)
{
    if (!j.is_object())
        return json_fail(p, "expected an object");
    PciSpec d;
    auto u8 = [&](std::string_view key, uint64_t max) -> ConfigResult<uint64_t> {
        const json* v = TRY(member(j, p, key, false));
        return v ? TRY(as_uint(*v, child(p, key), max)) : 0;
    };
    auto flag = [&](std::string_view key) -> ConfigResult<bool> {
        const json* v = TRY(member(j, p, key, false));
        return v ? TRY(as_bool(*v, child(p, key))) : false;
    };
    if (const json* name = TRY(member(j, p, "name", false)))
        d.name = TRY(as_string(*name, child(p, "name")));
    d.bdf.domain = static_cast<uint16_t>(TRY(u8("domain", 0xffff)));
    d.bdf.bus = static_cast<uint8_t>(TRY(u8("bus", 0xff)));
    d.bdf.dev = static_cast<uint8_t>(TRY(u8("dev", kMaxPciDev)));
    d.bdf.func = static_cast<uint8_t>(TRY(u8("func", kMaxPciFunc)));
    if (const json* v = TRY(member(j, p, "vdevfn", false))) {
        auto devfn = TRY(as_uint(*v, child(p, "vdevfn"), 0xff));
        if (devfn & 7)
            return json_fail(child(p, "vdevfn"), "0x{:x} names a function; xkvm takes a slot (function 0)", devfn);
        d.vslot = static_cast<uint8_t>(devfn >> 3);
    }
    d.msitranslate = TRY(flag("msitranslate"));
    d.power_mgmt = TRY(flag("power_mgmt"));
    d.permissive = TRY(flag("permissive"));
    d.seize = TRY(flag("seize"));
    if (const json* v = TRY(member(j, p, "rdm_policy", false)))
        d.rdm_policy = TRY(policy_from(*v, child(p, "rdm_policy"))).value_or(RdmPolicy::Strict);
    return d;
}

ConfigResult<DomainConfig> read(const json& root)
{
    if (!root.is_object())
        return json_fail("/", "expected an object");
    DomainConfig cfg;
    const json& c_info = *TRY(object_at(root, "", "c_info", true));
    const json& b_info = *TRY(object_at(root, "", "b_info", true));

    auto type = TRY(string_member(c_info, "/c_info", "type"));
    if (type != "hvm" && type != "pvh" && type != "pv")
        return json_fail("/c_info/type", "expected \"hvm\", \"pvh\" or \"pv\", found \"{}\"", type);
    cfg.type = type == "hvm" ? DomainType::Hvm : type == "pvh" ? DomainType::Pvh : DomainType::Pv;
    cfg.name = TRY(string_member(c_info, "/c_info", "name"));
    if (const json* u = TRY(member(c_info, "/c_info", "uuid", false))) {
        cfg.uuid = Uuid::parse(TRY(as_string(*u, "/c_info/uuid")));
        if (!cfg.uuid)
            return json_fail("/c_info/uuid", "not a UUID");
    }

    cfg.maxvcpus = static_cast<uint32_t>(TRY(uint_member(b_info, "/b_info", "max_vcpus", kMaxVcpus)));
    const json& avail = *TRY(member(b_info, "/b_info", "avail_vcpus", true));
    if (!avail.is_array())
        return json_fail("/b_info/avail_vcpus", "expected an array");
    for (size_t i = 0; i < avail.size(); i++)
        if (TRY(as_uint(avail[i], child("/b_info/avail_vcpus", i), kMaxVcpus)) != i)
            return json_fail("/b_info/avail_vcpus", "xkvm brings up vCPUs 0..N-1; expected {} at index {}", i, i);
    cfg.vcpus = static_cast<uint32_t>(avail.size());
    cfg.cpus = TRY(affinity_member(b_info, "/b_info", "vcpu_hard_affinity_spec"));
    cfg.cpus_soft = TRY(affinity_member(b_info, "/b_info", "vcpu_soft_affinity_spec"));
    if (const json* n = TRY(member(b_info, "/b_info", "nodemap", false))) {
        if (!n->is_array())
            return json_fail("/b_info/nodemap", "expected an array");
        for (size_t i = 0; i < n->size(); i++)
            cfg.nodes.push_back(static_cast<uint32_t>(TRY(as_uint((*n)[i], child("/b_info/nodemap", i), kMaxNodeId))));
    }
    if (const json* sp = TRY(object_at(b_info, "/b_info", "sched_params", false))) {
        if (const json* w = TRY(member(*sp, "/b_info/sched_params", "weight", false)))
            cfg.cpu_weight = static_cast<uint32_t>(TRY(as_uint(*w, "/b_info/sched_params/weight", kMaxCpuWeight)));
        if (const json* c = TRY(member(*sp, "/b_info/sched_params", "cap", false)))
            cfg.cpu_cap = static_cast<uint32_t>(TRY(as_uint(*c, "/b_info/sched_params/cap", kMaxCapPerVcpu * kMaxVcpus)));
    }
    cfg.maxmem_mib = TRY(memkb_member(b_info, "/b_info", "max_memkb"));
    cfg.memory_mib = TRY(memkb_member(b_info, "/b_info", "target_memkb"));
    if (const json* c = TRY(member(b_info, "/b_info", "cpuid", false)))
        cfg.cpuid = TRY(cpuid_from(*c, "/b_info/cpuid"));
    for (auto [key, field] : { std::pair { "kernel", &cfg.kernel }, { "cmdline", &cfg.cmdline }, { "ramdisk", &cfg.ramdisk } })
        if (const json* v = TRY(member(b_info, "/b_info", key, false)))
            *field = TRY(as_string(*v, child("/b_info", key)));

    if (const json* v = TRY(member(b_info, "/b_info", "vnuma_nodes", false)))
        cfg.vnuma = TRY(vnuma_from_json(*v, "/b_info/vnuma_nodes"));
    std::string ukey = "type." + type;
    std::string upath = "/b_info/" + ukey;
    if (const json* u = TRY(object_at(b_info, "/b_info", ukey, false))) {
        if (const json* f = TRY(member(*u, upath, "firmware", false)))
            cfg.firmware_override = TRY(as_string(*f, upath + "/firmware"));
        if (const json* s = TRY(member(*u, upath, "serial_list", false))) {
            if (!s->is_array())
                return json_fail(upath + "/serial_list", "expected an array");
            for (size_t i = 0; i < s->size(); i++)
                cfg.serial.push_back(TRY(as_string((*s)[i], child(upath + "/serial_list", i))));
        } else if (const json* s1 = TRY(member(*u, upath, "serial", false))) {
            cfg.serial.push_back(TRY(as_string(*s1, upath + "/serial")));
        }
        if (const json* rdm = TRY(object_at(*u, upath, "rdm", false))) {
            if (const json* st = TRY(member(*rdm, upath + "/rdm", "strategy", false))) {
                auto s = TRY(as_string(*st, upath + "/rdm/strategy"));
                if (s != "ignore" && s != "host")
                    return json_fail(upath + "/rdm/strategy", "unknown strategy \"{}\"", s);
                cfg.rdm.strategy = s == "host" ? RdmStrategy::Host : RdmStrategy::None;
            }
            if (const json* po = TRY(member(*rdm, upath + "/rdm", "policy", false)))
                cfg.rdm.policy = TRY(policy_from(*po, upath + "/rdm/policy")).value_or(RdmPolicy::Relaxed);
        }
        if (const json* b = TRY(member(*u, upath, "rdm_mem_boundary_memkb", false)))
            cfg.rdm_mem_boundary_mib = TRY(memkb_as_mib(*b, upath + "/rdm_mem_boundary_memkb"));
    }

    if (const json* disks = TRY(member(root, "", "disks", false))) {
        if (!disks->is_array())
            return json_fail("/disks", "expected an array");
        for (size_t i = 0; i < disks->size(); i++)
            cfg.disks.push_back(TRY(disk_from_json((*disks)[i], child("/disks", i))));
    }
    if (const json* nics = TRY(member(root, "", "nics", false))) {
        if (!nics->is_array())
            return json_fail("/nics", "expected an array");
        for (size_t i = 0; i < nics->size(); i++)
            cfg.vifs.push_back(TRY(nic_from_json((*nics)[i], child("/nics", i))));
    }
    if (const json* devs = TRY(member(root, "", "pcidevs", false))) {
        if (!devs->is_array())
            return json_fail("/pcidevs", "expected an array");
        for (size_t i = 0; i < devs->size(); i++)
            cfg.pci.push_back(TRY(pci_from((*devs)[i], child("/pcidevs", i))));
    }
    cfg.on_poweroff = TRY(action_at(root, "on_poweroff"));
    cfg.on_reboot = TRY(action_at(root, "on_reboot"));
    cfg.on_watchdog = TRY(action_at(root, "on_watchdog"));
    cfg.on_crash = TRY(action_at(root, "on_crash"));
    cfg.on_soft_reset = TRY(action_at(root, "on_soft_reset"));

    if (auto bad = check_domain_config(cfg))
        return json_fail("/", "invalid domain config: {}: {}", bad->key, bad->message);
    return cfg;
}

} // namespace

ConfigResult<DomainConfig> from_json(const json& j)
{
    try {
        return read(j);
    } catch (const std::exception& e) {
        return json_fail("/", "{}", e.what());
    }
}

ConfigResult<DomainConfig> from_json_text(std::string_view text)
{
    try {
        return from_json(json::parse(text));
    } catch (const json::exception& e) {
        return json_fail("/", "{}", e.what());
    }
}

} // namespace xkvm::config

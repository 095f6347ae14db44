#include "vmm/vm_spec.h"

#include <nlohmann/json.hpp>

#include "vmm/guest_layout.h"

namespace xkvm::vmm {

using nlohmann::json;

memory::MemoryMap default_memory_map(uint64_t memory_mib)
{
    using namespace memory;
    MemoryMap map;
    uint64_t ram = memory_mib * MiB;
    // The legacy area below 1 MiB: RAM up to the EBDA, then the VGA/BIOS hole.
    map.push_back({ 0, 0x9fc00, RegionType::Ram, "low RAM" });
    map.push_back({ 0x9fc00, 0x100000 - 0x9fc00, RegionType::Reserved, "legacy" });
    uint64_t low = std::min(ram, kDefaultLowRamCeiling);
    if (low > 0x100000)
        map.push_back({ 0x100000, low - 0x100000, RegionType::Ram, "RAM" });
    map.push_back({ kSpecialPagesGpa, kSpecialPagesCount * kPageSize, RegionType::Reserved, "xen special pages" });
    if (ram > low)
        map.push_back({ kHighRamBase, ram - low, RegionType::Ram, "high RAM" });
    return map;
}

namespace {

memory::RegionType type_from(const std::string& s)
{
    if (s == "ram")
        return memory::RegionType::Ram;
    if (s == "acpi")
        return memory::RegionType::Acpi;
    if (s == "nvs")
        return memory::RegionType::AcpiNvs;
    if (s == "unusable")
        return memory::RegionType::Unusable;
    return memory::RegionType::Reserved;
}

} // namespace

json vm_spec_to_json(const VmSpec& s)
{
    json map = json::array();
    for (const auto& e : s.memory_map)
        map.push_back({ { "base", e.base }, { "size", e.size }, { "type", memory::region_type_name(e.type) }, { "why", e.why } });
    json cpuid = json::array();
    for (const auto& c : s.cpuid) {
        json o = { { "leaf", c.leaf }, { "reg", c.reg }, { "set", c.set }, { "clear", c.clear } };
        if (c.subleaf)
            o["subleaf"] = *c.subleaf;
        cpuid.push_back(o);
    }
    return {
        { "domid", s.domid }, { "name", s.name }, { "uuid", s.uuid },
        { "type", s.type == BootType::Pvh ? "pvh" : "hvm" },
        { "kernel", s.kernel }, { "ramdisk", s.ramdisk }, { "cmdline", s.cmdline },
        { "memory_mib", s.memory_mib }, { "maxmem_mib", s.maxmem_mib },
        { "vcpus", s.vcpus }, { "max_vcpus", s.max_vcpus }, { "max_evtchn_port", s.max_evtchn_port },
        { "memop_max_order", s.memop_max_order },
        { "memory_map", map }, { "cpuid", cpuid }, { "vcpu_affinity", s.vcpu_affinity },
        { "memory_nodes", s.memory_nodes }, { "console_log", s.console_log },
        { "accel", s.accel },
    };
}

Result<VmSpec> vm_spec_from_json(const json& j)
{
    try {
        VmSpec s;
        s.domid = j.at("domid").get<uint16_t>();
        s.name = j.at("name").get<std::string>();
        s.uuid = j.at("uuid").get<std::array<uint8_t, 16>>();
        std::string type = j.at("type").get<std::string>();
        if (type != "pvh" && type != "hvm")
            return fail(EINVAL, "VM spec: unknown type '{}'", type);
        s.type = type == "pvh" ? BootType::Pvh : BootType::Hvm;
        s.kernel = j.at("kernel").get<std::string>();
        s.ramdisk = j.value("ramdisk", "");
        s.cmdline = j.value("cmdline", "");
        s.memory_mib = j.at("memory_mib").get<uint64_t>();
        s.maxmem_mib = j.value("maxmem_mib", s.memory_mib);
        s.vcpus = j.at("vcpus").get<uint32_t>();
        s.max_vcpus = j.value("max_vcpus", s.vcpus);
        s.max_evtchn_port = j.value("max_evtchn_port", 1023u);
        s.memop_max_order = j.value("memop_max_order", 9u);
        if (s.memop_max_order > kMaxMemopOrder)
            return fail(EINVAL, "VM spec: memop_max_order {} is above {}", s.memop_max_order, kMaxMemopOrder);
        for (const auto& e : j.at("memory_map"))
            s.memory_map.push_back({ e.at("base").get<uint64_t>(), e.at("size").get<uint64_t>(),
                                     type_from(e.at("type").get<std::string>()), e.value("why", "") });
        for (const auto& c : j.value("cpuid", json::array())) {
            CpuidOverride o;
            o.leaf = c.at("leaf").get<uint32_t>();
            if (c.contains("subleaf"))
                o.subleaf = c.at("subleaf").get<uint32_t>();
            o.reg = c.at("reg").get<uint8_t>();
            o.set = c.at("set").get<uint32_t>();
            o.clear = c.at("clear").get<uint32_t>();
            s.cpuid.push_back(o);
        }
        s.vcpu_affinity = j.value("vcpu_affinity", std::vector<std::vector<uint32_t>> {});
        s.memory_nodes = j.value("memory_nodes", std::vector<uint32_t> {});
        s.console_log = j.value("console_log", "");
        s.accel = j.value("accel", "");
        if (s.vcpus == 0 || s.max_vcpus < s.vcpus || s.max_vcpus > 128)
            return fail(EINVAL, "VM spec: vcpus {} / max_vcpus {} out of range", s.vcpus, s.max_vcpus);
        if (s.memory_mib == 0)
            return fail(EINVAL, "VM spec: no memory");
        return s;
    } catch (const json::exception& e) {
        return fail(EINVAL, "VM spec: {}", e.what());
    }
}

} // namespace xkvm::vmm

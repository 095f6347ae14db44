#include "toolstack/plan/plan_json.h"

#include <fmt/format.h>

#include "config/domain_config.h"
#include "numa/affinity.h"
#include "rdm/host_devices.h"
#include "toolstack/plan/numa_plan.h"

namespace xkvm::plan {

namespace {

using nlohmann::json;

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }
std::string hex32(uint32_t v) { return fmt::format("0x{:08x}", v); }


const char* reg_name(uint8_t reg)
{
    static constexpr const char* kNames[] = { "eax", "ebx", "ecx", "edx" };
    return reg < 4 ? kNames[reg] : "?";
}

json bdfs(const std::vector<config::PciBdf>& devices)
{
    json out = json::array();
    for (const auto& d : devices)
        out.push_back(rdm::bdf_str(d));
    return out;
}

json memory_map(const memory::MemoryMap& map)
{
    json out = json::array();
    for (const auto& e : map)
        out.push_back({ { "start", hex(e.base) }, { "end", hex(e.end() - 1) }, { "size_kib", e.size / memory::KiB },
                        { "type", memory::region_type_name(e.type) }, { "why", e.why } });
    return out;
}

json rdm_regions(const std::vector<rdm::ReservedRegion>& regions)
{
    json out = json::array();
    for (const auto& r : regions)
        out.push_back({ { "start", hex(r.base) }, { "end", hex(r.end() - 1) }, { "devices", bdfs(r.owners) },
                        { "assigned", bdfs(r.assigned) },
                        { "policy", r.policy == config::RdmPolicy::Strict ? "strict" : "relaxed" },
                        { "in_guest_map", r.in_guest_map } });
    return out;
}

json numa_view(const DomainPlan& plan)
{
    const numa::Topology& topo = plan.topology;
    const numa::PlacementResult& p = plan.placement;
    json vcpus = json::array();
    for (uint32_t i = 0; i < p.hard.size() && i < p.soft.size(); ++i)
        vcpus.push_back({ { "vcpu", i }, { "hard", numa::format_cpus(topo, p.hard[i]) },
                          { "soft", numa::format_cpus(topo, p.soft[i]) },
                          { "pinned", numa::format_cpus(topo, p.thread_affinity(i)) } });
    return { { "host_nodes", topo.all_nodes().to_string() }, { "node_affinity", numa::format_nodes(topo, p.nodes) },
             { "source", source_name(p.source) }, { "reason", p.reason },
             { "memory_nodes", plan.spec.memory_nodes }, { "vcpus", vcpus } };
}

json cpuid(const std::vector<vmm::CpuidOverride>& overrides)
{
    json out = json::array();
    for (const auto& o : overrides)
        out.push_back({ { "leaf", hex32(o.leaf) }, { "subleaf", o.subleaf ? json(*o.subleaf) : json(nullptr) },
                        { "reg", reg_name(o.reg) }, { "set", hex32(o.set) }, { "clear", hex32(o.clear) } });
    return out;
}

} // namespace

json plan_to_json(const DomainPlan& plan)
{
    const vmm::VmSpec& s = plan.spec;
    config::Uuid uuid { s.uuid };
    return {
        { "domid", s.domid },
        { "name", s.name },
        { "uuid", uuid.str() },
        { "uuid_generated", plan.uuid_generated },
        { "type", s.type == vmm::BootType::Pvh ? "pvh" : "hvm" },
        { "kernel", s.kernel },
        { "ramdisk", s.ramdisk },
        { "cmdline", s.cmdline },
        { "memory_mib", s.memory_mib },
        { "maxmem_mib", s.maxmem_mib },
        { "vcpus", s.vcpus },
        { "max_vcpus", s.max_vcpus },
        { "max_evtchn_port", s.max_evtchn_port },
        { "console_log", s.console_log },
        { "memory_map", memory_map(s.memory_map) },
        { "reserved_device_memory", rdm_regions(plan.rdm_regions) },
        { "numa", numa_view(plan) },
        { "cpuid", cpuid(s.cpuid) },
        { "warnings", plan.warnings },
        { "summary", plan.summary },
    };
}

} // namespace xkvm::plan

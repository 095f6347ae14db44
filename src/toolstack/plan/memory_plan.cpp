#include "toolstack/plan/memory_plan.h"

#include <algorithm>
#include <cerrno>

#include "rdm/host_devices.h"
#include "vmm/guest_layout.h"

namespace xkvm::plan {

namespace {

using memory::MapEntry;
using memory::RegionType;

// The VMM's default map and rdm's layout must agree on where RAM below 4 GiB ends.
static_assert(vmm::kDefaultLowRamCeiling == rdm::kDefaultMmioHoleStart);

struct FixedArea {
    uint64_t base;
    uint64_t end;
    const char* why;   // as vmm::default_memory_map names it
    const char* about; // for conflict messages
};

constexpr uint64_t kSpecialPagesEnd = vmm::kSpecialPagesGpa + vmm::kSpecialPagesCount * memory::kPageSize;

constexpr FixedArea kFixedAreas[] = {
    { kLegacyHoleStart, kLegacyHoleEnd, "legacy", "the legacy VGA/BIOS hole below 1 MiB" },
    { vmm::kSpecialPagesGpa, kSpecialPagesEnd, "xen special pages",
      "the special pages the VMM maps there (xenstore and console rings)" },
};

bool overlaps(uint64_t a_base, uint64_t a_end, uint64_t b_base, uint64_t b_end)
{
    return a_base < b_end && b_base < a_end;
}

std::string devices_of(const rdm::ReservedRegion& r)
{
    if (!r.assigned.empty())
        return (r.assigned.size() == 1 ? "device " : "devices ") + rdm::bdf_list_str(r.assigned);
    if (r.owners.empty())
        return "no device";
    return (r.owners.size() == 1 ? "host device " : "host devices ") + rdm::bdf_list_str(r.owners) + ", not assigned";
}

// How rdm names a piece of RAM, so the map reads the same as vmm::default_memory_map's.
const char* ram_why(uint64_t base)
{
    if (base == 0)
        return "low RAM";
    return base >= rdm::kFourGiB ? "high RAM" : "RAM";
}

// Appends what is left of RAM [base, end) once every fixed area is cut out of it.
void add_ram(memory::MemoryMap& out, uint64_t base, uint64_t end)
{
    for (const FixedArea& a : kFixedAreas) {
        if (!overlaps(base, end, a.base, a.end))
            continue;
        if (base < a.base)
            add_ram(out, base, a.base);
        if (a.end < end)
            add_ram(out, a.end, end);
        return;
    }
    if (end > base)
        out.push_back({ base, end - base, RegionType::Ram, ram_why(base) });
}

// A reserved entry of the RDM layout that runs into a fixed area: strict regions fail the plan, relaxed
// ones leave the map (the same rule rdm applies to RAM conflicts). Returns whether to keep the entry.
Result<bool> check_fixed_conflicts(const MapEntry& e, MemoryPlan& plan)
{
    for (const FixedArea& a : kFixedAreas) {
        if (!overlaps(e.base, e.end(), a.base, a.end))
            continue;
        std::vector<rdm::ReservedRegion*> owners;
        bool strict = false;
        for (auto& r : plan.regions) {
            if (r.in_guest_map && overlaps(r.base, r.end(), e.base, e.end())) {
                owners.push_back(&r);
                strict |= r.policy == config::RdmPolicy::Strict;
            }
        }
        std::string who;
        for (const auto* r : owners)
            who += fmt::format("{}{} of {}", who.empty() ? "" : ", ", rdm::range_str(r->base, r->end()), devices_of(*r));
        const std::string what = fmt::format("RDM region {} (policy {}) overlaps {} {}", who,
                                             strict ? "strict" : "relaxed", a.about, rdm::range_str(a.base, a.end));
        if (strict)
            return fail(EBUSY, "cannot reserve device memory: {}", what);
        for (auto* r : owners)
            r->in_guest_map = false;
        plan.warnings.push_back(what + "; left out of the guest memory map");
        return false;
    }
    return true;
}

Status check_well_formed(const memory::MemoryMap& map)
{
    for (size_t i = 0; i < map.size(); ++i) {
        if (map[i].size == 0)
            return fail(EINVAL, "internal error: empty memory map entry {}", describe_entry(map[i]));
        if (i && map[i - 1].end() > map[i].base)
            return fail(EINVAL, "internal error: memory map entries {} and {} overlap", describe_entry(map[i - 1]),
                        describe_entry(map[i]));
    }
    return {};
}

} // namespace

std::string describe_entry(const MapEntry& e)
{
    const char* type = e.type == RegionType::Ram ? "RAM" : "reserved";
    if (e.why.empty())
        return fmt::format("{} {}", rdm::range_str(e.base, e.end()), type);
    return fmt::format("{} {} ({})", rdm::range_str(e.base, e.end()), type, e.why);
}

Result<MemoryPlan> plan_memory_for_regions(const config::DomainConfig& cfg, const std::vector<rdm::HostRegion>& regions)
{
    rdm::LayoutInputs in;
    in.ram_bytes = cfg.memory_mib * memory::MiB;
    in.mmio_hole_start = vmm::kDefaultLowRamCeiling;
    in.rdm_mem_boundary = cfg.rdm_mem_boundary_mib * memory::MiB;
    in.rdm = cfg.rdm;
    // Devices named by name= have no BDF to match an RMRR against (plan_domain refuses them).
    for (const auto& d : cfg.pci)
        if (!d.name)
            in.pci.push_back(d);
    in.host_regions = regions;
    rdm::LayoutResult lay = TRY(rdm::compute_layout(in));

    MemoryPlan plan;
    plan.regions = std::move(lay.regions);
    plan.warnings = std::move(lay.warnings);
    for (const MapEntry& e : lay.map) {
        if (e.type == RegionType::Ram) {
            add_ram(plan.map, e.base, e.end());
        } else if (TRY(check_fixed_conflicts(e, plan))) {
            plan.map.push_back(e);
        }
    }
    for (const FixedArea& a : kFixedAreas)
        plan.map.push_back({ a.base, a.end - a.base, RegionType::Reserved, a.why });
    std::stable_sort(plan.map.begin(), plan.map.end(), [](const auto& a, const auto& b) { return a.base < b.base; });
    TRY(check_well_formed(plan.map));
    return plan;
}

Result<MemoryPlan> plan_memory(const config::DomainConfig& cfg, const rdm::HostPaths& host)
{
    std::vector<rdm::HostRegion> regions;
    std::vector<std::string> dmar_warnings;
    if (rdm::wants_host_rdm(cfg.rdm, cfg.pci)) {
        rdm::HostRdm host_rdm = TRY(rdm::read_host_rdm(host));
        regions = std::move(host_rdm.regions);
        for (auto& w : host_rdm.warnings)
            dmar_warnings.push_back("DMAR table " + host.dmar_table + ": " + w);
    }
    MemoryPlan plan = TRY(plan_memory_for_regions(cfg, regions));
    plan.warnings.insert(plan.warnings.begin(), dmar_warnings.begin(), dmar_warnings.end());
    return plan;
}

} // namespace xkvm::plan

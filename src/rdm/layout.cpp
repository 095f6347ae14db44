#include "rdm/layout.h"

#include <algorithm>

#include "base/log.h"

namespace xkvm::rdm {

namespace {

using config::RdmPolicy;

bool overlaps(uint64_t a_base, uint64_t a_end, uint64_t b_base, uint64_t b_end)
{
    return a_base < b_end && b_base < a_end;
}

const char* policy_str(RdmPolicy p)
{
    return p == RdmPolicy::Strict ? "strict" : "relaxed";
}

std::string devices_str(const ReservedRegion& r)
{
    if (!r.assigned.empty())
        return (r.assigned.size() == 1 ? "device " : "devices ") + bdf_list_str(r.assigned);
    if (r.owners.empty())
        return "no device";
    return (r.owners.size() == 1 ? "host device " : "host devices ") + bdf_list_str(r.owners) + ", not assigned";
}

Status check_inputs(const LayoutInputs& in)
{
    if (in.ram_bytes == 0 || in.ram_bytes % memory::kPageSize != 0)
        return fail(EINVAL, "guest RAM size 0x{:x} must be a non-zero multiple of 4 KiB", in.ram_bytes);
    if (in.ram_bytes > kMaxGuestPhys - kFourGiB)
        return fail(EINVAL, "guest RAM size 0x{:x} does not fit the guest physical address space", in.ram_bytes);
    if (in.mmio_hole_start == 0 || in.mmio_hole_start > kFourGiB || in.mmio_hole_start % memory::kPageSize != 0)
        return fail(EINVAL, "MMIO hole start 0x{:x} must be page aligned, above 0 and at most 4 GiB",
                    in.mmio_hole_start);
    for (const auto& r : in.host_regions) {
        if (r.size == 0 || r.base % memory::kPageSize != 0 || r.size % memory::kPageSize != 0
            || r.base >= kMaxGuestPhys || r.size > kMaxGuestPhys - r.base)
            return fail(EINVAL, "host RDM region at 0x{:x} (size 0x{:x}) is not a page-granular range", r.base,
                        r.size);
    }
    return {};
}

// The regions this guest must honour, each with its effective policy: an assigned owner's per-device
// policy beats the global one (strict if any assigned owner is strict); a region no assigned device
// owns counts only under strategy=host, with the global policy.
std::vector<ReservedRegion> select_regions(const LayoutInputs& in)
{
    std::vector<ReservedRegion> out;
    for (const auto& host : in.host_regions) {
        ReservedRegion r { host.base, host.size, host.devices, {}, in.rdm.policy, true };
        bool any_strict = false;
        for (const auto& spec : in.pci) {
            if (std::find(host.devices.begin(), host.devices.end(), spec.bdf) == host.devices.end())
                continue;
            if (std::find(r.assigned.begin(), r.assigned.end(), spec.bdf) == r.assigned.end())
                r.assigned.push_back(spec.bdf);
            any_strict |= spec.rdm_policy == RdmPolicy::Strict;
        }
        if (!r.assigned.empty())
            r.policy = any_strict ? RdmPolicy::Strict : RdmPolicy::Relaxed;
        else if (in.rdm.strategy != config::RdmStrategy::Host)
            continue;
        out.push_back(std::move(r));
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.base < b.base; });
    return out;
}

// What a region still overlaps once low RAM has been moved, or "" when nothing.
std::string conflict_of(const ReservedRegion& r, const LayoutResult& lay, uint64_t boundary)
{
    if (overlaps(r.base, r.end(), 0, lay.low_ram_end))
        return fmt::format("overlaps guest low RAM {}; it starts at or below rdm_mem_boundary 0x{:x}, so low RAM "
                           "is not moved around it",
                           range_str(0, lay.low_ram_end), boundary);
    const uint64_t high_end = kFourGiB + lay.high_ram_size;
    if (lay.high_ram_size && overlaps(r.base, r.end(), kFourGiB, high_end))
        return fmt::format("overlaps guest high RAM {}; RAM above 4 GiB is never moved around reserved regions",
                           range_str(kFourGiB, high_end));
    return {};
}

std::string rmrr_why(const ReservedRegion& r)
{
    return "RMRR " + bdf_list_str(r.assigned.empty() ? r.owners : r.assigned);
}

memory::MemoryMap build_map(const LayoutResult& lay)
{
    memory::MemoryMap reserved;
    for (const auto& r : lay.regions) {
        if (!r.in_guest_map)
            continue;
        // Regions from different RMRRs may overlap each other; the map holds their union.
        if (!reserved.empty() && r.base < reserved.back().end()) {
            auto& last = reserved.back();
            if (r.end() > last.end())
                last.size = r.end() - last.base;
            last.why += "; " + rmrr_why(r);
            continue;
        }
        reserved.push_back({ r.base, r.size, memory::RegionType::Reserved, rmrr_why(r) });
    }

    memory::MemoryMap map;
    if (lay.low_ram_end)
        map.push_back({ 0, lay.low_ram_end, memory::RegionType::Ram, "low RAM" });
    map.insert(map.end(), reserved.begin(), reserved.end());
    if (lay.high_ram_size)
        map.push_back({ kFourGiB, lay.high_ram_size, memory::RegionType::Ram, "high RAM" });
    std::stable_sort(map.begin(), map.end(), [](const auto& a, const auto& b) { return a.base < b.base; });
    return map;
}

} // namespace

bool wants_host_rdm(const config::RdmSpec& rdm, const std::vector<config::PciSpec>& pci)
{
    return rdm.strategy == config::RdmStrategy::Host || !pci.empty();
}

Result<LayoutResult> compute_layout(const LayoutInputs& in)
{
    TRY(check_inputs(in));
    auto logger = log::get("rdm");

    LayoutResult lay;
    lay.low_ram_end = std::min(in.ram_bytes, in.mmio_hole_start);
    lay.high_ram_size = in.ram_bytes - lay.low_ram_end;
    lay.regions = select_regions(in);

    // Pass 1: a region above the boundary that low RAM runs into ends low RAM below it; what no longer
    // fits below moves above 4 GiB. Regions are visited lowest first, so low RAM ends below the lowest.
    for (const auto& r : lay.regions) {
        if (!overlaps(r.base, r.end(), 0, lay.low_ram_end) || r.base <= in.rdm_mem_boundary)
            continue;
        const uint64_t new_end = r.base > kLowRamAlign ? r.base & ~(kLowRamAlign - 1) : r.base;
        logger->info("low RAM ends at 0x{:x} (was 0x{:x}) below RDM region {} of {}; 0x{:x} bytes move above 4 GiB",
                     new_end, lay.low_ram_end, range_str(r.base, r.end()), devices_str(r),
                     lay.low_ram_end - new_end);
        lay.high_ram_size += lay.low_ram_end - new_end;
        lay.low_ram_end = new_end;
    }
    if (lay.high_ram_size > kMaxGuestPhys - kFourGiB)
        return fail(EINVAL, "guest RAM moved above 4 GiB no longer fits the guest physical address space");

    // Pass 2: whatever still overlaps RAM fails the guest under strict and is left out under relaxed.
    std::vector<std::string> errors;
    for (auto& r : lay.regions) {
        const std::string conflict = conflict_of(r, lay, in.rdm_mem_boundary);
        if (conflict.empty())
            continue;
        const std::string what = fmt::format("RDM region {} of {} (policy {}) {}", range_str(r.base, r.end()),
                                             devices_str(r), policy_str(r.policy), conflict);
        if (r.policy == RdmPolicy::Strict) {
            errors.push_back(what);
            continue;
        }
        r.in_guest_map = false;
        lay.warnings.push_back(what + "; left out of the guest memory map");
        logger->warn("{}", lay.warnings.back());
    }
    if (!errors.empty()) {
        std::string all;
        for (const auto& e : errors)
            all += (all.empty() ? "" : "; ") + e;
        return fail(EBUSY, "cannot reserve device memory: {}", all);
    }

    lay.map = build_map(lay);
    return lay;
}

} // namespace xkvm::rdm

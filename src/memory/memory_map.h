// The guest-physical memory map as the guest sees it (e820 style): what is RAM, what is reserved.
// Built by the layout policy (rdm/), published to the guest by the loader and XENMEM_memory_map.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xkvm::memory {

using Gpa = uint64_t;

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kPageShift = 12;
inline constexpr uint64_t KiB = 1024;
inline constexpr uint64_t MiB = 1024 * KiB;
inline constexpr uint64_t GiB = 1024 * MiB;

// e820 type numbers, as the guest ABI (hvm_start_info memmap, XENMEM_memory_map) carries them.
enum class RegionType : uint32_t {
    Ram = 1,
    Reserved = 2,
    Acpi = 3,
    AcpiNvs = 4,
    Unusable = 5,
};

// The spelling in VM specs and plan JSON ("ram", "reserved", "acpi", "nvs", "unusable").
constexpr const char* region_type_name(RegionType t)
{
    switch (t) {
    case RegionType::Ram: return "ram";
    case RegionType::Reserved: return "reserved";
    case RegionType::Acpi: return "acpi";
    case RegionType::AcpiNvs: return "nvs";
    case RegionType::Unusable: return "unusable";
    }
    return "reserved";
}

struct MapEntry {
    Gpa base = 0;
    uint64_t size = 0;
    RegionType type = RegionType::Ram;
    std::string why; // who asked for it, e.g. "RMRR 0000:00:1d.0" (never shown to the guest)

    Gpa end() const { return base + size; }
    bool operator==(const MapEntry& o) const { return base == o.base && size == o.size && type == o.type; }
};

// Sorted by base, non-overlapping.
using MemoryMap = std::vector<MapEntry>;

} // namespace xkvm::memory

// The guest memory layout around reserved device memory (RDM): low RAM below the MMIO hole, high RAM
// above 4 GiB, and the host's RMRR ranges kept free of RAM and marked reserved, so a passed-through
// device's firmware-owned DMA still lands somewhere harmless. The rules are in README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/device_specs.h"
#include "memory/memory_map.h"
#include "rdm/dmar.h"

namespace xkvm::rdm {

inline constexpr uint64_t kFourGiB = 4 * memory::GiB;
// hvmloader's default: the MMIO hole is the top 256 MiB below 4 GiB.
inline constexpr uint64_t kDefaultMmioHoleStart = 0xF0000000;
// Low RAM shortened around a region ends on a 2 MiB boundary, so it stays mappable with large pages.
inline constexpr uint64_t kLowRamAlign = 2 * memory::MiB;
// Guest-physical addresses beyond this are refused.
inline constexpr uint64_t kMaxGuestPhys = 1ull << 52;

struct LayoutInputs {
    uint64_t ram_bytes = 0;                            // memory= (MiB) in bytes
    uint64_t mmio_hole_start = kDefaultMmioHoleStart; // low RAM never reaches past this
    uint64_t rdm_mem_boundary = config::kDefaultRdmMemBoundaryMiB * memory::MiB; // bytes
    config::RdmSpec rdm;
    std::vector<config::PciSpec> pci;
    std::vector<HostRegion> host_regions; // from read_host_rdm()
};

struct ReservedRegion {
    uint64_t base = 0;
    uint64_t size = 0;
    std::vector<config::PciBdf> owners;   // every host device the firmware ties it to
    std::vector<config::PciBdf> assigned; // those owners this guest is given
    config::RdmPolicy policy = config::RdmPolicy::Strict; // effective policy
    bool in_guest_map = true; // false: it overlapped RAM under relaxed, and was left out
    uint64_t end() const { return base + size; }
};

struct LayoutResult {
    memory::MemoryMap map;       // RAM and RDM only; the caller adds firmware areas
    uint64_t low_ram_end = 0;    // low RAM is [0, low_ram_end)
    uint64_t high_ram_size = 0;  // high RAM is [4 GiB, 4 GiB + high_ram_size)
    std::vector<ReservedRegion> regions; // every region this guest considered, sorted by base
    std::vector<std::string> warnings;   // relaxed conflicts, naming region and device
};

// Whether a guest needs the host's RDM at all (rdm="strategy=host", or any pci=). The caller reads
// the DMAR table only then, so guests without passthrough never touch it.
bool wants_host_rdm(const config::RdmSpec& rdm, const std::vector<config::PciSpec>& pci);

// Lay out guest RAM around the reserved regions. EINVAL for impossible inputs; EBUSY when a region
// under the strict policy still overlaps RAM, naming every such region and its device(s).
Result<LayoutResult> compute_layout(const LayoutInputs& in);

} // namespace xkvm::rdm

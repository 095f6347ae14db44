// The guest memory map: RAM laid out around reserved device memory by rdm::compute_layout(), then the
// areas the VMM itself needs carved in: the legacy hole below 1 MiB and the special pages (xenstore and
// console rings) just below 4 GiB. Without reserved device memory the result equals
// vmm::default_memory_map(memory).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "config/domain_config.h"
#include "memory/memory_map.h"
#include "rdm/dmar.h"
#include "rdm/layout.h"

namespace xkvm::plan {

// Below 1 MiB: RAM up to the EBDA, then the VGA/BIOS hole (as vmm::default_memory_map has them).
inline constexpr uint64_t kLegacyHoleStart = 0x9fc00;
inline constexpr uint64_t kLegacyHoleEnd = 0x100000;

struct MemoryPlan {
    memory::MemoryMap map;                   // sorted, non-overlapping; what the guest sees
    std::vector<rdm::ReservedRegion> regions; // every reserved region considered (in_guest_map says if kept)
    std::vector<std::string> warnings;        // relaxed conflicts and DMAR oddities
};

// Reads the host's DMAR table (host.dmar_table) only when rdm::wants_host_rdm() says the guest needs
// it, then plan_memory_for_regions(). PCI devices given by name= are not resolved here (plan_domain
// refuses them); they take part in nothing.
Result<MemoryPlan> plan_memory(const config::DomainConfig& cfg, const rdm::HostPaths& host);

// The layout for `regions` (as rdm::read_host_rdm() reports them) plus the VMM's fixed areas.
// A kept reserved region that overlaps a fixed area is a conflict like any other: an error (EBUSY,
// naming region and devices) under the strict policy, a warning and the region left out under relaxed.
Result<MemoryPlan> plan_memory_for_regions(const config::DomainConfig& cfg, const std::vector<rdm::HostRegion>& regions);

// "[0x9fc00-0xfffff] reserved (legacy)": one map entry for messages and dry runs.
std::string describe_entry(const memory::MapEntry& e);

} // namespace xkvm::plan

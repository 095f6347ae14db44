// NUMA for one domain: numa::place() on the config's cpus= / cpus_soft= / nodes=, turned into what the
// VMM enacts: the nodes guest RAM is bound to and the CPUs each vCPU thread is pinned to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/domain_config.h"
#include "numa/placement.h"
#include "numa/topology.h"

namespace xkvm::plan {

struct NumaPlan {
    numa::PlacementResult placement;
    // Host nodes for guest RAM; empty when the node affinity is every node of the host and nodes= was
    // not given (then there is nothing to restrict).
    std::vector<uint32_t> memory_nodes;
    // Per vCPU (maxvcpus entries, or none): the effective set, hard ∩ soft when they meet, else hard
    // (numa::PlacementResult::thread_affinity). Empty for a vCPU free to run on every online CPU.
    std::vector<std::vector<uint32_t>> vcpu_affinity;
    std::vector<std::string> warnings;
};

// VMM memory outside guest RAM that lives on the same nodes (special pages, shared_info).
inline constexpr uint64_t kVmmOverheadBytes = 64 * 1024;

// What automatic placement looks for: max(memory, maxmem) plus the VMM's own pages (libxl also sizes
// placement by the maximum, so a guest can balloon up where it was placed).
uint64_t placement_memory_bytes(const config::DomainConfig& cfg);

// Resolves and places. Errors name the CPU or node the host lacks; `key_out`, when given, receives the
// config key the error is about.
Result<NumaPlan> plan_numa(const config::DomainConfig& cfg, const numa::Topology& topo, const numa::VcpuLoad& load,
                           std::string* key_out = nullptr);

std::string_view source_name(numa::NodeAffinitySource source); // "explicit", "automatic", "from_affinity"

} // namespace xkvm::plan

// Deciding a guest's node affinity and per-vCPU affinity, automatic NUMA placement included.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/device_specs.h"
#include "numa/cpuset.h"
#include "numa/topology.h"

namespace xkvm::numa {

// vCPUs of already-running domains that can run on each node (node id -> count).
using VcpuLoad = std::map<uint32_t, uint32_t>;

// What a running domain contributes to VcpuLoad.
struct DomainAffinity {
    NodeSet nodes;              // its node affinity
    std::vector<CpuSet> hard;   // its vCPUs' hard affinity
};

// A vCPU counts once on each node that is in its domain's node affinity and holds a CPU of the
// vCPU's hard affinity (the way libxl counts "vCPUs runnable on a candidate").
VcpuLoad count_vcpu_load(const Topology& topo, const std::vector<DomainAffinity>& domains);

struct PlacementRequest {
    uint32_t vcpus = 1;
    uint64_t memory_bytes = 0;          // what the guest needs on its nodes (RAM + overhead)
    config::AffinitySpec cpus;          // cpus=      (hard affinity)
    config::AffinitySpec cpus_soft;     // cpus_soft= (soft affinity)
    // nodes=[...]: nullopt when absent. An empty list resets to automatic, as if absent.
    std::optional<std::vector<uint32_t>> nodes;
    VcpuLoad load;                      // vCPUs of other domains per node
};

enum class NodeAffinitySource {
    Explicit,     // nodes= was given
    Automatic,    // automatic placement chose the nodes
    FromAffinity, // derived from the vCPUs' hard/soft affinity (placement off, skipped or failed)
};

struct PlacementResult {
    NodeSet nodes;               // node affinity: where guest RAM is bound
    std::vector<CpuSet> hard;    // per vCPU
    std::vector<CpuSet> soft;    // per vCPU; the chosen nodes' CPUs after automatic placement
    NodeAffinitySource source = NodeAffinitySource::FromAffinity;
    std::string reason;          // one line for logs and `xkvm list -n`

    // What vCPU i's thread is pinned to (see effective_affinity()); empty for a vCPU out of range.
    CpuSet thread_affinity(uint32_t vcpu) const;
};

// Automatic placement gives up on hosts with more nodes than this (the search is exponential).
inline constexpr size_t kMaxPlacementNodes = 16;

// Resolves the request against the host:
//   1. nodes= (non-empty): those nodes, validated; no automatic placement.
//   2. placement on (cpus= absent or one string, cpus_soft= absent): among node sets whose free
//      memory covers memory_bytes and whose CPUs (inside cpus=, if given) number at least vcpus,
//      the fewest nodes, then the fewest vCPUs of `load`, then the most free memory; equal
//      candidates go to the lowest node ids. The chosen nodes' CPUs become every vCPU's soft
//      affinity. Skipped on a single-node host and above kMaxPlacementNodes.
//   3. otherwise, or when no candidate fits: derive_node_affinity() of hard and soft.
// Bad CPUs or nodes are errors naming them.
Result<PlacementResult> place(const Topology& topo, const PlacementRequest& req);

// vnuma= is not implemented: guests see one virtual node. The error says so, and what to use.
Status check_vnuma_unsupported(bool vnuma_given);

} // namespace xkvm::numa

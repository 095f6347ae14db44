// Turning cpus=/cpus_soft=/nodes= (and `vcpu-pin` arguments) into host CPU and node sets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/device_specs.h"
#include "numa/cpuset.h"
#include "numa/topology.h"

namespace xkvm::numa {

// Applies the terms left to right: "all" and "nodes:" expand against the topology, "^" removes.
// A CPU that is not online, or a node the host lacks, is an error naming it; `what` names the
// option ("cpus", "cpus_soft", "vcpu-pin") for the message. The result may be empty ("^0" alone).
Result<CpuSet> resolve_cpuset(const Topology& topo, const config::CpuSetSpec& spec, std::string_view what);

// One set per vCPU (vcpus entries). Unset: every online CPU. AllVcpus: the one set for each vCPU.
// PerVcpu: entry i for vCPU i; vCPUs past the list keep every online CPU and entries past the
// last vCPU are ignored, as xl does. A vCPU left with no CPU is an error naming it.
Result<std::vector<CpuSet>> resolve_affinity(const Topology& topo, const config::AffinitySpec& spec,
    uint32_t vcpus, std::string_view what);

// nodes=[...]: each must exist on the host. An empty list yields an empty set (= automatic).
Result<NodeSet> resolve_nodes(const Topology& topo, const std::vector<uint32_t>& nodes);

// Xen's derivation of a domain's node affinity when none was given: the union of the vCPUs'
// hard affinities (restricted to online CPUs); narrowed to the union of soft affinities where
// that intersects it; then every node holding a CPU of the result.
NodeSet derive_node_affinity(const Topology& topo, const std::vector<CpuSet>& hard, const std::vector<CpuSet>& soft);

// Linux has no soft affinity, so a vCPU thread is pinned to this: hard and soft where they
// intersect (the pCPUs Xen's scheduler would prefer), else hard alone (hard always wins).
CpuSet effective_affinity(const CpuSet& hard, const CpuSet& soft);

// For vcpu-list / list -n: "all" when every online CPU (node), "none" when empty, else "0-3,6".
std::string format_cpus(const Topology& topo, const CpuSet& cpus);
std::string format_nodes(const Topology& topo, const NodeSet& nodes);

} // namespace xkvm::numa

// The host's NUMA topology as sysfs describes it: nodes, their CPUs, free memory and distances.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "base/result.h"
#include "numa/cpuset.h"

namespace xkvm::numa {

struct NodeInfo {
    uint32_t id = 0;
    CpuSet cpus;             // online CPUs of the node (may be empty: a memory-only node)
    uint64_t mem_total = 0;  // bytes
    uint64_t mem_free = 0;   // bytes, at the time the topology was read
    // SLIT distance to each node, as (node id, distance) in node id order; 10 means local.
    std::vector<std::pair<uint32_t, uint32_t>> distances;
};

class Topology {
public:
    // Reads <root>/sys/devices/system/{node,cpu} (and <root>/proc/meminfo when there is no node
    // directory: then the host is one node 0 holding every online CPU). root "/" is the real host.
    static Result<Topology> from_sysfs(const std::filesystem::path& root);
    // The real host, or the tree named by $XKVM_SYSFS_ROOT when set (for tests of the CLI).
    static Result<Topology> detect();

    const std::vector<NodeInfo>& nodes() const { return m_nodes; }
    const NodeInfo* node(uint32_t id) const;
    size_t node_count() const { return m_nodes.size(); }
    // True when sysfs had no node directory and the single node was synthesised.
    bool synthesized() const { return m_synthesized; }

    const CpuSet& online_cpus() const { return m_online; }
    NodeSet all_nodes() const;
    std::optional<uint32_t> node_of_cpu(uint32_t cpu) const;
    CpuSet cpus_of(const NodeSet& nodes) const;
    // Nodes holding at least one CPU of `cpus`.
    NodeSet nodes_of(const CpuSet& cpus) const;
    uint64_t free_memory(const NodeSet& nodes) const;
    // SLIT distance; nullopt when either node is unknown or the kernel gave no distance.
    std::optional<uint32_t> distance(uint32_t from, uint32_t to) const;

private:
    std::vector<NodeInfo> m_nodes; // sorted by id
    CpuSet m_online;
    bool m_synthesized = false;
};

} // namespace xkvm::numa

// vnuma= (xl.cfg(5)): the guest's virtual NUMA topology, one list of "KEY=VALUE" strings per
// virtual node:
//
//   vnuma = [ [ "pnode=0", "size=512", "vcpus=0-1", "vdistances=10,20" ], [ ... ] ]
//   pnode: the host node backing it; size: MiB; vcpus: a list of vCPU numbers and ranges;
//   vdistances: the distance to every virtual node, in order (default 10 to itself, 20 to others).
//
// xl requires the sizes to add up to maxmem and every vCPU up to maxvcpus to be in exactly one
// node; check_domain_config() holds the model to that. xkvm cannot give a guest a virtual NUMA
// topology yet: the model carries it so `create -n` shows it, and the planner refuses it.
#pragma once

#include <cstdint>
#include <vector>

#include "config/parser.h"

namespace xkvm::config {

inline constexpr uint32_t kDefaultLocalDistance = 10;
inline constexpr uint32_t kDefaultRemoteDistance = 20;

struct VnumaNode {
    uint32_t pnode = 0;
    uint64_t memory_mib = 0;
    std::vector<uint32_t> vcpus;     // sorted, unique
    std::vector<uint32_t> distances; // one per virtual node
    bool operator==(const VnumaNode&) const = default;
};

// Reads the vnuma= setting; errors point at the node or the "KEY=VALUE" string at fault.
ConfigResult<std::vector<VnumaNode>> read_vnuma(const Setting& s);

} // namespace xkvm::config

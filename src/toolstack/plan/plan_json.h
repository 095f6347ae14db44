// The dry-run view of a plan (`xkvm create -n`): what `xl create -n`'s libxl JSON (config::to_json)
// cannot know because it depends on this host: the domid and UUID that would be used, the guest memory
// map with the reserved device memory it was built around, the NUMA placement and each vCPU's
// affinity, the CPUID overrides, and the warnings.
//
//   { "domid", "name", "uuid", "uuid_generated", "type", "kernel", "ramdisk", "cmdline",
//     "memory_mib", "maxmem_mib", "vcpus", "max_vcpus", "max_evtchn_port", "console_log",
//     "memory_map": [ { "start": "0x0", "end": "0x9fbff", "size_kib", "type": "ram"|"reserved", "why" } ],
//     "reserved_device_memory": [ { "start", "end", "devices": ["0000:00:02.0"], "assigned": [...],
//                                   "policy": "strict"|"relaxed", "in_guest_map" } ],
//     "numa": { "host_nodes", "node_affinity", "source": "explicit"|"automatic"|"from_affinity", "reason",
//               "memory_nodes": [0], "vcpus": [ { "vcpu", "hard", "soft", "pinned" } ] },
//     "cpuid": [ { "leaf": "0x40000002", "subleaf": null|N, "reg": "edx", "set": "0x00000007",
//                  "clear": "0xfffffff8" } ],
//     "warnings": [ ... ], "summary": "..." }
//
// Addresses are hex strings with inclusive ends, CPU and node sets as xl prints them ("all", "0-3,6").
#pragma once

#include <nlohmann/json.hpp>

#include "toolstack/plan/plan.h"

namespace xkvm::plan {

nlohmann::json plan_to_json(const DomainPlan& plan);

} // namespace xkvm::plan

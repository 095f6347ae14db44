// What the CLI prints and parses about affinity, as xl does it: the `vcpu-list` table, `list` (with
// `-n`, its NODE Affinity column), and the arguments of `vcpu-pin <dom> <vcpu|all> <hard> [<soft>]`.
// Pure functions: the caller gathers the running domains' state and enacts the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/device_specs.h"
#include "numa/cpuset.h"
#include "numa/topology.h"

namespace xkvm::plan {

// ---- xl vcpu-list ----

struct VcpuListEntry {
    std::string domain; // name
    uint32_t domid = 0;
    uint32_t vcpu = 0;
    bool online = true;
    uint32_t cpu = 0;     // host CPU it runs on, or last ran on (online vCPUs only)
    bool running = false; // 'r'
    bool blocked = false; // 'b'
    double time_s = 0;    // CPU time used, seconds
    numa::CpuSet hard;
    numa::CpuSet soft;
};

// xl's columns: "Name ID VCPU CPU State Time(s) Affinity (Hard / Soft)", widths as xl prints them.
std::string vcpu_list_header();
// One line (with its newline). An offline vCPU shows CPU "-" and state "--p"; sets print as "all",
// "none" or "0-3,6" against the host's online CPUs.
std::string format_vcpu_list_row(const numa::Topology& topo, const VcpuListEntry& e);
// Header and every row.
std::string format_vcpu_list(const numa::Topology& topo, const std::vector<VcpuListEntry>& entries);

// ---- xl list [-n] ----

struct DomainListEntry {
    std::string name;
    uint32_t domid = 0;
    uint64_t memory_mib = 0;
    uint32_t vcpus_online = 0;
    bool running = false;
    bool blocked = false;
    bool paused = false;
    bool dying = false;
    std::optional<unsigned> shutdown_reason; // SHUTDOWN_* once the domain has shut down
    double time_s = 0;
    numa::NodeSet node_affinity; // printed by -n
};

// "Name ... ID Mem VCPUs\tState\tTime(s)", plus " NODE Affinity" with -n.
std::string domain_list_header(bool numa);
// State letters r b p s <reason> d, the reason as xl spells it ("-rscwS" by SHUTDOWN_ code, '?' beyond).
std::string format_domain_list_row(const numa::Topology& topo, const DomainListEntry& e, bool numa);
std::string format_domain_list(const numa::Topology& topo, const std::vector<DomainListEntry>& entries, bool numa);

// ---- xl vcpu-pin ----

struct VcpuAffinity {
    numa::CpuSet hard;
    numa::CpuSet soft;
    bool operator==(const VcpuAffinity&) const = default;
};

struct VcpuPinRequest {
    std::optional<uint32_t> vcpu;           // nullopt: "all"
    std::optional<config::CpuSetSpec> hard; // nullopt: "-" (leave it)
    std::optional<config::CpuSetSpec> soft; // nullopt: not given, or "-"
};

// `vcpu` is a decimal vCPU number or "all"; `hard` and `soft` are CPU-set strings (xl's grammar:
// "0-3,^2", "node:1", "all") or "-". Errors name the argument and, for a set, the column.
Result<VcpuPinRequest> parse_vcpu_pin_args(std::string_view vcpu, std::string_view hard,
                                           std::optional<std::string_view> soft = std::nullopt);

struct VcpuPinResult {
    std::vector<VcpuAffinity> affinity; // every vCPU of the domain, after the command
    std::vector<uint32_t> changed;      // the vCPUs the command applies to
    // What each vCPU's thread is pinned to now (numa::effective_affinity: hard ∩ soft, else hard).
    std::vector<numa::CpuSet> threads;
    // The node affinity Xen would derive from the new affinities; the domain's node affinity when it
    // was not given with nodes= (memory already allocated stays where it is).
    numa::NodeSet derived_nodes;
    std::vector<std::string> warnings; // soft affinity empty or not meeting hard
};

// Applies a request to the domain's current affinities (one per vCPU). A CPU that is not online or a
// node the host lacks is an error naming it; so is a vCPU the domain does not have and an empty hard set.
Result<VcpuPinResult> apply_vcpu_pin(const numa::Topology& topo, const VcpuPinRequest& request,
                                     const std::vector<VcpuAffinity>& current);

// parse_vcpu_pin_args() then apply_vcpu_pin().
Result<VcpuPinResult> vcpu_pin(const numa::Topology& topo, const std::vector<VcpuAffinity>& current,
                               std::string_view vcpu, std::string_view hard,
                               std::optional<std::string_view> soft = std::nullopt);

} // namespace xkvm::plan

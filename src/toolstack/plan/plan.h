// Planning a domain: a parsed xl.cfg (config::DomainConfig) becomes everything the VMM needs to build
// it (vmm::VmSpec), with the placement policies applied against this host:
//   - what xkvm cannot run is refused, clearly, before anything exists;
//   - the kernel (or firmware), ramdisk and command line are checked by the loader;
//   - the guest memory map is laid out around reserved device memory (rdm/), plus the VMM's fixed areas;
//   - NUMA node affinity and per-vCPU thread affinity are decided (numa/);
//   - cpuid= becomes CPUID overrides.
// Nothing here starts a VMM or talks to the daemon; the caller hands the spec on.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "ipc/rundir.h"
#include "config/domain_config.h"
#include "config/parser.h"
#include "numa/placement.h"
#include "numa/topology.h"
#include "rdm/host_devices.h"
#include "rdm/layout.h"
#include "vmm/vm_spec.h"

namespace xkvm::plan {

// libxl's default for b_info.event_channels: ports 0..1023 (the 2-level ABI's limit on 32-bit guests).
inline constexpr uint32_t kDefaultMaxEvtchnPort = 1023;
// DOMID_FIRST_RESERVED: ids from here up name special domains (DOMID_SELF, DOMID_IO, ...).
inline constexpr uint16_t kFirstReservedDomid = 0x7ff0;

struct PlanContext {
    uint16_t domid = 1; // the id the daemon allocated; 1..0x7fef
    // Where host facts are read: sysfs (PCI devices) and the ACPI DMAR table. Tests point them at fixtures.
    rdm::HostPaths host;
    // The host's NUMA topology; unset: numa::Topology::detect() (the real host, or $XKVM_SYSFS_ROOT).
    std::optional<numa::Topology> topology;
    // vCPUs of the domains already running, per node (numa::count_vcpu_load over them): automatic
    // placement steers away from busy nodes.
    numa::VcpuLoad vcpu_load;
    // Log directory (ipc::log_dir); the console log goes to <log_dir>/console/<domid>.log unless
    // console_log is set ("" there means no log file).
    std::string log_dir = ipc::kDefaultLogdir;
    std::optional<std::string> console_log;
    // The parsed file the config came from, if any: errors and warnings about a key then start with
    // its "file:line:column: ". Must outlive the call.
    const config::ParsedConfig* source = nullptr;
};

struct DomainPlan {
    vmm::VmSpec spec;
    std::vector<std::string> warnings; // for the user: relaxed RDM conflicts, placement fallbacks, ...
    numa::PlacementResult placement;
    numa::Topology topology;                     // the host as planned against (for printing sets)
    std::vector<rdm::ReservedRegion> rdm_regions; // every reserved region the layout considered
    bool uuid_generated = false;                  // the config had no uuid=
    std::string summary;                          // a few lines for humans (create -n, logs)
};

// Plans one domain. Errors (EINVAL, ENOENT, ENODEV, EBUSY, EOPNOTSUPP, ...) say what is wrong and what
// to do instead; nothing is created on the host either way.
Result<DomainPlan> plan_domain(const config::DomainConfig& cfg, const PlanContext& ctx);

// <log_dir>/console/<domid>.log
std::string console_log_path(const std::string& log_dir, uint16_t domid);

// A random (version 4, RFC 4122 variant) UUID from getrandom(2).
Result<std::array<uint8_t, 16>> random_uuid_v4();

} // namespace xkvm::plan

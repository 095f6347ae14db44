// The typed domain configuration the toolstack and the VMM work from. build_domain_config() turns
// parsed xl.cfg settings into one, applying defaults in exactly one place (apply_defaults).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/cpuid_spec.h"
#include "config/device_specs.h"
#include "config/disk_spec.h"
#include "config/parser.h"
#include "config/pci_spec.h"
#include "config/vif_spec.h"
#include "config/vnuma_spec.h"

namespace xkvm::config {

// Pv is xl's default: the model holds it so `create -n` can print such configs; xkvm cannot run it.
enum class DomainType { Hvm, Pvh, Pv };

enum class ShutdownAction { Destroy, Restart, RenameRestart, Preserve, CoredumpDestroy, CoredumpRestart, SoftReset };

struct Uuid {
    std::array<uint8_t, 16> bytes {};
    // "01234567-89ab-cdef-0123-456789abcdef" (either case); nullopt otherwise.
    static std::optional<Uuid> parse(std::string_view s);
    std::string str() const; // lowercase, dashed
    bool is_nil() const;
    bool operator==(const Uuid&) const = default;
};

inline constexpr uint64_t kDefaultMemoryMiB = 32; // libxl's default when neither memory nor maxmem is set
inline constexpr uint64_t kMaxMemoryMiB = uint64_t(1) << 24; // 16 TiB
inline constexpr uint32_t kMaxVcpus = 128;     // Xen's HVM vCPU limit
inline constexpr uint64_t kMaxRdmMemBoundaryMiB = 4096;
inline constexpr size_t kMaxNameLength = 64;
// xl.cfg(5) cpu_weight (the credit scheduler's weight) and cap (percent of one host CPU, 0: none;
// at most 100 per vCPU, as libxl checks).
inline constexpr uint32_t kDefaultCpuWeight = 256;
inline constexpr uint32_t kMaxCpuWeight = 65535;
inline constexpr uint32_t kMaxCapPerVcpu = 100;

struct DomainConfig {
    std::string name;
    std::optional<Uuid> uuid; // unset: the toolstack generates one at create time
    DomainType type = DomainType::Hvm;
    uint64_t memory_mib = kDefaultMemoryMiB; // initial RAM (libxl target_memkb)
    uint64_t maxmem_mib = kDefaultMemoryMiB; // ceiling (libxl max_memkb), >= memory_mib
    uint32_t vcpus = 1;                      // online at boot
    uint32_t maxvcpus = 1;                   // >= vcpus
    uint32_t cpu_weight = kDefaultCpuWeight; // 1..kMaxCpuWeight
    uint32_t cpu_cap = 0;                    // 0..kMaxCapPerVcpu * maxvcpus
    std::string kernel;            // empty: none (firmware boot)
    std::string ramdisk;           // empty: none
    std::string cmdline;           // cmdline=, or composed from root= and extra=
    std::string firmware_override; // empty: the VMM's default firmware
    ShutdownAction on_poweroff = ShutdownAction::Destroy;
    ShutdownAction on_reboot = ShutdownAction::Restart;
    ShutdownAction on_crash = ShutdownAction::Destroy;
    ShutdownAction on_watchdog = ShutdownAction::Destroy;
    ShutdownAction on_soft_reset = ShutdownAction::SoftReset;
    std::vector<std::string> serial; // QEMU-style device strings ("pty", "file:/x", ...)
    CpuidPolicy cpuid;
    std::vector<PciSpec> pci;
    RdmSpec rdm;
    uint64_t rdm_mem_boundary_mib = kDefaultRdmMemBoundaryMiB;
    AffinitySpec cpus;      // hard affinity (pinning)
    AffinitySpec cpus_soft; // soft affinity
    std::vector<uint32_t> nodes; // sorted, unique; empty: automatic placement
    std::vector<DiskSpec> disks;
    std::vector<VifSpec> vifs; // every devid set, unique
    std::vector<VnumaNode> vnuma; // empty: none

    bool operator==(const DomainConfig&) const = default;
};

// What a config file says, before defaults: everything left out is empty.
struct DomainConfigInput {
    std::optional<std::string> name;
    std::optional<Uuid> uuid;
    std::optional<DomainType> type;
    std::optional<uint64_t> memory_mib, maxmem_mib;
    std::optional<uint32_t> vcpus, maxvcpus;
    std::optional<uint32_t> cpu_weight, cpu_cap;
    std::optional<std::string> kernel, ramdisk, cmdline, extra, root, firmware_override;
    std::optional<ShutdownAction> on_poweroff, on_reboot, on_crash, on_watchdog, on_soft_reset;
    std::vector<std::string> serial;
    CpuidPolicy cpuid;
    std::vector<PciSpecInput> pci;
    std::optional<bool> pci_permissive, pci_msitranslate, pci_seize, pci_power_mgmt;
    RdmSpecInput rdm;
    std::optional<uint64_t> rdm_mem_boundary_mib;
    AffinitySpec cpus, cpus_soft;
    std::optional<std::vector<uint32_t>> nodes;
    std::vector<DiskSpec> disks;
    std::vector<VifSpec> vifs; // devid as written
    std::vector<VnumaNode> vnuma;
};

// The one place defaults live (xl's and libxl's, see xl.cfg(5) and xl-pci-configuration(5)).
DomainConfig apply_defaults(const DomainConfigInput& in);

// A broken invariant: the xl.cfg key to blame, the list item if it is one, and what is wrong.
struct Invalid {
    std::string key;
    std::optional<size_t> item;
    std::string message;
};

// Cross-field rules (maxmem >= memory, vcpus <= maxvcpus, unique PCI devices, ...). Run on every
// model built from a config file and on every model read from JSON.
std::optional<Invalid> check_domain_config(const DomainConfig& cfg);

// nullopt if `name` is a usable domain name, else why not.
std::optional<std::string> name_problem(std::string_view name);

std::string_view xl_name(ShutdownAction a); // "rename-restart"
std::optional<ShutdownAction> shutdown_action_from_xl(std::string_view s);

// Settings to model. Errors point at the offending value (or inside it, for spec strings).
// Warnings about settings the model leaves out (per-vCPU entries past maxvcpus, which xl skips)
// are appended to `warnings`; the one-argument form drops them.
ConfigResult<DomainConfig> build_domain_config(const ParsedConfig& parsed, std::vector<ConfigWarning>& warnings);
ConfigResult<DomainConfig> build_domain_config(const ParsedConfig& parsed);

} // namespace xkvm::config

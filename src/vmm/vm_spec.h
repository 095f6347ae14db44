// Everything the VMM needs to build one domain, decided by the toolstack beforehand (config parsed,
// memory layout and placement computed). It crosses the process boundary as JSON.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"
#include "memory/memory_map.h"

namespace xkvm::vmm {

enum class BootType { Pvh, Hvm };

// One register of one CPUID leaf: bits in `set` forced to 1, bits in `clear` forced to 0, the rest
// left as the hypervisor computed them.
struct CpuidOverride {
    uint32_t leaf = 0;
    std::optional<uint32_t> subleaf;
    uint8_t reg = 0; // 0 eax, 1 ebx, 2 ecx, 3 edx
    uint32_t set = 0;
    uint32_t clear = 0;
};

inline constexpr unsigned kMaxMemopOrder = 18;

struct VmSpec {
    uint16_t domid = 1;
    std::string name;
    std::array<uint8_t, 16> uuid {};
    BootType type = BootType::Pvh;
    std::string kernel;  // PVH kernel, or HVM firmware image
    std::string ramdisk;
    std::string cmdline;
    uint64_t memory_mib = 128;
    uint64_t maxmem_mib = 128;
    uint32_t vcpus = 1;     // online at boot
    uint32_t max_vcpus = 1;
    uint32_t max_evtchn_port = 1023;
    // Largest extent order of the balloon hypercalls: Xen's memop-max-order for a domU (9 unless
    // raised, at most 18: one 1 GiB superpage).
    unsigned memop_max_order = 9;
    memory::MemoryMap memory_map; // RAM and reserved regions, as the guest will see them
    std::vector<CpuidOverride> cpuid;
    std::vector<std::vector<uint32_t>> vcpu_affinity; // host CPUs per vCPU; empty = any
    std::vector<uint32_t> memory_nodes;               // host NUMA nodes for guest RAM; empty = any
    std::string console_log;                          // file the console is appended to ("" = none)
    std::string accel; // backend the creator asked for (auto, kvm, emu); "" = the VMM's XKVM_ACCEL
};

Result<VmSpec> vm_spec_from_json(const nlohmann::json& j);
nlohmann::json vm_spec_to_json(const VmSpec& spec);

// A memory map for `memory_mib` of RAM with no reserved device memory: RAM below the MMIO hole,
// the rest above 4 GiB, and the special-page area reserved.
memory::MemoryMap default_memory_map(uint64_t memory_mib);

} // namespace xkvm::vmm

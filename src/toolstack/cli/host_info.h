// `xkvm info`: xl's "key : value" lines, with this host's facts and the Xen version xkvm presents.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xkvm::cli {

struct HostFacts {
    std::string host, release, version, machine; // uname
    uint32_t nr_cpus = 0;                        // online
    uint32_t max_cpu_id = 0;
    uint32_t nr_nodes = 1;
    uint32_t cores_per_socket = 1, threads_per_core = 1;
    uint32_t cpu_khz = 0;
    std::array<uint32_t, 8> hw_caps {};
    bool hap = false; // EPT/NPT
    std::string accel; // the backend domains get here: "kvm", "emu", or why neither
    uint64_t total_mib = 0, free_mib = 0;
    std::string commandline;
};

// Reads uname, /proc/cpuinfo, /proc/meminfo, CPUID, KVM's module parameters, the NUMA topology and
// which backend (XKVM_ACCEL, else what `auto` picks here) new domains run on.
HostFacts read_host_facts();

// The lines in xl's order: (key, value).
std::vector<std::pair<std::string, std::string>> info_fields(const HostFacts& f);
// "key                    : value\n" per field; with `only`, just that field's value (xl info KEY).
std::string format_info(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& only = "");

} // namespace xkvm::cli

// Parsed forms of the xl.cfg values that the placement policies consume: pci=, rdm=, cpus=, nodes=.
// The config parser (this folder) produces them; rdm/ and numa/ resolve them against the host.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xkvm::config {

// ---- Reserved device memory (seed 001) ----

enum class RdmPolicy { Strict, Relaxed };
enum class RdmStrategy { None, Host };

inline constexpr uint64_t kDefaultRdmMemBoundaryMiB = 2048;

struct RdmSpec {
    RdmStrategy strategy = RdmStrategy::None;
    RdmPolicy policy = RdmPolicy::Relaxed; // global default: relaxed
    bool operator==(const RdmSpec&) const = default;
};

struct PciBdf {
    uint16_t domain = 0;
    uint8_t bus = 0;
    uint8_t dev = 0;  // 0..31
    uint8_t func = 0; // 0..7
    bool operator==(const PciBdf&) const = default;
    std::string str() const; // "0000:03:00.0"
};

struct PciSpec {
    PciBdf bdf;
    std::optional<uint8_t> vslot;
    bool permissive = false;
    bool msitranslate = false;
    bool seize = false;
    bool power_mgmt = false;
    RdmPolicy rdm_policy = RdmPolicy::Strict; // per-device default: strict
    std::optional<std::string> name; // set instead of bdf (xl's "name=" form); bdf is then all zero
    bool operator==(const PciSpec&) const = default;
};

// ---- CPU and node affinity (seed 002) ----

// One term of a CPU-set string such as "0-3,^2,node:1,nodes:0-1,all".
struct CpuSetTerm {
    enum class Kind { Cpus, Nodes, All };
    Kind kind = Kind::Cpus;
    bool exclude = false; // the "^" form
    uint32_t first = 0;
    uint32_t last = 0; // inclusive; first == last for a single number
    bool operator==(const CpuSetTerm&) const = default;
};

struct CpuSetSpec {
    std::vector<CpuSetTerm> terms; // applied left to right: include terms add, exclude terms remove
    bool operator==(const CpuSetSpec&) const = default;
};

struct AffinitySpec {
    enum class Form {
        Unset,
        AllVcpus, // cpus="..." (a single string): one set for every vCPU
        PerVcpu,  // cpus=[ "...", "..." ]: entry i is vCPU i's set
    };
    Form form = Form::Unset;
    std::vector<CpuSetSpec> sets; // one entry for AllVcpus, one per listed vCPU for PerVcpu
    bool operator==(const AffinitySpec&) const = default;
};

} // namespace xkvm::config

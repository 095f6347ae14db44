// Fake sysfs trees for tests: write one into a temporary directory, then Topology::from_sysfs() it
// (or point $XKVM_SYSFS_ROOT at it). Part of xkvm_numa_testing, never linked into the VMM.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace xkvm::numa::testing {

struct FixtureNode {
    uint32_t id = 0;
    std::string cpulist;            // as the kernel writes it, e.g. "0-3" ("" for memory-only)
    uint64_t mem_total_mib = 0;
    uint64_t mem_free_mib = 0;
    std::vector<uint32_t> distances; // one per node, in node order; empty: no distance file
};

struct Fixture {
    std::vector<FixtureNode> nodes;  // no nodes: a host without /sys/devices/system/node
    std::string online_cpus;         // cpu/online; "" derives it from the nodes' cpulists
    uint64_t meminfo_total_mib = 0;  // proc/meminfo, used when there are no nodes
    uint64_t meminfo_free_mib = 0;
};

// `nodes` nodes of `cpus_per_node` consecutive CPUs each, `mem_mib` total and free per node,
// SLIT distances 10 local / 20 remote.
Fixture uniform_fixture(uint32_t nodes, uint32_t cpus_per_node, uint64_t mem_mib);

// Writes the tree below root (root/sys/devices/system/..., root/proc/meminfo).
Status write_fixture(const std::filesystem::path& root, const Fixture& fixture);

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
public:
    static Result<TempDir> create(std::string_view prefix = "xkvm-numa");
    TempDir(TempDir&& o) noexcept : m_path(std::exchange(o.m_path, {})) { }
    TempDir& operator=(TempDir&&) = delete;
    TempDir(const TempDir&) = delete;
    ~TempDir();
    const std::filesystem::path& path() const { return m_path; }

private:
    explicit TempDir(std::filesystem::path p) : m_path(std::move(p)) { }
    std::filesystem::path m_path;
};

} // namespace xkvm::numa::testing

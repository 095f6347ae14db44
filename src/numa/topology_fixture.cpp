#include "numa/topology_fixture.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace xkvm::numa::testing {

namespace fs = std::filesystem;

namespace {

Status write_file(const fs::path& path, const std::string& text)
{
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec)
        return fail(ec.value(), "creating {}: {}", path.parent_path().string(), ec.message());
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    if (!out)
        return fail(EIO, "writing {}", path.string());
    return {};
}

std::string meminfo(const std::string& prefix, uint64_t total_mib, uint64_t free_mib)
{
    // The kernel's layout, trimmed to the lines that matter plus one that must be skipped.
    return fmt::format("{}MemTotal:       {:>8} kB\n{}MemFree:        {:>8} kB\n{}MemUsed:        {:>8} kB\n",
        prefix, total_mib * 1024, prefix, free_mib * 1024, prefix, (total_mib - std::min(total_mib, free_mib)) * 1024);
}

} // namespace

Fixture uniform_fixture(uint32_t nodes, uint32_t cpus_per_node, uint64_t mem_mib)
{
    Fixture f;
    for (uint32_t n = 0; n < nodes; ++n) {
        FixtureNode node;
        node.id = n;
        uint32_t first = n * cpus_per_node;
        node.cpulist = cpus_per_node == 1 ? fmt::format("{}", first) : fmt::format("{}-{}", first, first + cpus_per_node - 1);
        node.mem_total_mib = mem_mib;
        node.mem_free_mib = mem_mib;
        for (uint32_t m = 0; m < nodes; ++m)
            node.distances.push_back(m == n ? 10 : 20);
        f.nodes.push_back(node);
    }
    return f;
}

Status write_fixture(const fs::path& root, const Fixture& f)
{
    const fs::path sys = root / "sys/devices/system";
    std::string online = f.online_cpus;
    if (online.empty()) {
        for (const FixtureNode& n : f.nodes) {
            if (n.cpulist.empty())
                continue;
            online += online.empty() ? n.cpulist : "," + n.cpulist;
        }
    }
    TRY(write_file(sys / "cpu/online", online + "\n"));
    TRY(write_file(root / "proc/meminfo", meminfo("", f.meminfo_total_mib, f.meminfo_free_mib)));
    if (f.nodes.empty())
        return {};

    std::string node_ids;
    for (const FixtureNode& n : f.nodes) {
        node_ids += node_ids.empty() ? fmt::format("{}", n.id) : fmt::format(",{}", n.id);
        const fs::path dir = sys / fmt::format("node/node{}", n.id);
        TRY(write_file(dir / "cpulist", n.cpulist + "\n"));
        TRY(write_file(dir / "meminfo", meminfo(fmt::format("Node {} ", n.id), n.mem_total_mib, n.mem_free_mib)));
        if (!n.distances.empty())
            TRY(write_file(dir / "distance", fmt::format("{}\n", fmt::join(n.distances, " "))));
    }
    TRY(write_file(sys / "node/online", node_ids + "\n"));
    return {};
}

Result<TempDir> TempDir::create(std::string_view prefix)
{
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = fmt::format("{}/{}-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (!mkdtemp(pattern.data()))
        return make_unexpected(Error::from_errno(fmt::format("mkdtemp {}", pattern)));
    return TempDir(fs::path(pattern));
}

TempDir::~TempDir()
{
    if (m_path.empty())
        return;
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

} // namespace xkvm::numa::testing

#include "numa/topology.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/unique_fd.h"

namespace xkvm::numa {

namespace fs = std::filesystem;

namespace {

Result<std::string> read_text(const fs::path& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return make_unexpected(Error::from_errno(fmt::format("opening {}", path.string())));
    std::string out;
    char buf[4096];
    while (true) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return make_unexpected(Error::from_errno(fmt::format("reading {}", path.string())));
        if (n == 0)
            return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

Result<std::vector<uint32_t>> read_list(const fs::path& path)
{
    std::string text = TRY(read_text(path));
    auto list = parse_id_list(text);
    if (!list)
        return fail(EINVAL, "{}: {}", path.string(), list.error().message);
    return list.release_value();
}

// Finds "<key>: <n> kB" in a meminfo file (the node form has a "Node N " prefix) and returns bytes.
std::optional<uint64_t> meminfo_field(const std::string& text, std::string_view key)
{
    std::istringstream lines(text);
    std::string line;
    std::string needle = std::string(key) + ":";
    while (std::getline(lines, line)) {
        size_t at = line.find(needle);
        if (at == std::string::npos || (at > 0 && line[at - 1] != ' '))
            continue;
        std::istringstream rest(line.substr(at + needle.size()));
        uint64_t value = 0;
        std::string unit;
        if (!(rest >> value))
            return std::nullopt;
        rest >> unit;
        return unit == "kB" ? value * 1024 : value;
    }
    return std::nullopt;
}

Result<void> read_meminfo(const fs::path& path, NodeInfo& node)
{
    std::string text = TRY(read_text(path));
    auto total = meminfo_field(text, "MemTotal");
    auto free = meminfo_field(text, "MemFree");
    if (!total || !free)
        return fail(EINVAL, "{}: no MemTotal/MemFree lines", path.string());
    node.mem_total = *total;
    node.mem_free = *free;
    return {};
}

// Node ids present as nodeN directories, sorted.
std::vector<uint32_t> node_dirs(const fs::path& node_root)
{
    std::vector<uint32_t> ids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(node_root, ec)) {
        std::string name = entry.path().filename().string();
        if (!name.starts_with("node") || name.size() == 4)
            continue;
        uint32_t id = 0;
        auto [ptr, perr] = std::from_chars(name.data() + 4, name.data() + name.size(), id);
        if (perr == std::errc() && ptr == name.data() + name.size())
            ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

} // namespace

Result<Topology> Topology::from_sysfs(const fs::path& root)
{
    Topology topo;
    const fs::path node_root = root / "sys/devices/system/node";
    const fs::path online_path = root / "sys/devices/system/cpu/online";

    std::error_code ec;
    std::vector<uint32_t> ids = fs::is_directory(node_root, ec) ? node_dirs(node_root) : std::vector<uint32_t> {};

    if (ids.empty()) {
        // Kernels built without CONFIG_NUMA have no node directory: one node with everything.
        topo.m_synthesized = true;
        NodeInfo node;
        node.cpus = CpuSet::from_ids(TRY(read_list(online_path)));
        if (auto mem = read_meminfo(root / "proc/meminfo", node); !mem)
            log::get("numa")->warn("no node directory and {}; free memory unknown", mem.error().message);
        node.distances.push_back({ 0, 10 });
        topo.m_online = node.cpus;
        topo.m_nodes.push_back(std::move(node));
        return topo;
    }

    // The distance file has one column per online node, in id order.
    std::vector<uint32_t> columns = ids;
    if (fs::exists(node_root / "online", ec))
        columns = TRY(read_list(node_root / "online"));

    for (uint32_t id : ids) {
        const fs::path dir = node_root / fmt::format("node{}", id);
        NodeInfo node;
        node.id = id;
        node.cpus = CpuSet::from_ids(TRY(read_list(dir / "cpulist")));
        TRY(read_meminfo(dir / "meminfo", node));
        if (auto text = read_text(dir / "distance")) {
            std::istringstream in(text.value());
            uint32_t d = 0;
            for (size_t col = 0; col < columns.size() && (in >> d); ++col)
                node.distances.push_back({ columns[col], d });
        }
        topo.m_online |= node.cpus;
        topo.m_nodes.push_back(std::move(node));
    }

    if (fs::exists(online_path, ec)) {
        topo.m_online = CpuSet::from_ids(TRY(read_list(online_path)));
        // Node lists can lag CPU hot-unplug; an offline CPU belongs to no usable node.
        for (NodeInfo& node : topo.m_nodes)
            node.cpus &= topo.m_online;
    }
    if (topo.m_online.empty())
        return fail(ENOENT, "{}: the host reports no online CPU", root.string());
    return topo;
}

Result<Topology> Topology::detect()
{
    const char* root = std::getenv("XKVM_SYSFS_ROOT");
    return from_sysfs(root && *root ? fs::path(root) : fs::path("/"));
}

const NodeInfo* Topology::node(uint32_t id) const
{
    for (const NodeInfo& n : m_nodes)
        if (n.id == id)
            return &n;
    return nullptr;
}

NodeSet Topology::all_nodes() const
{
    NodeSet s;
    for (const NodeInfo& n : m_nodes)
        s.set(n.id);
    return s;
}

std::optional<uint32_t> Topology::node_of_cpu(uint32_t cpu) const
{
    for (const NodeInfo& n : m_nodes)
        if (n.cpus.test(cpu))
            return n.id;
    return std::nullopt;
}

CpuSet Topology::cpus_of(const NodeSet& nodes) const
{
    CpuSet s;
    for (const NodeInfo& n : m_nodes)
        if (nodes.test(n.id))
            s |= n.cpus;
    return s;
}

NodeSet Topology::nodes_of(const CpuSet& cpus) const
{
    NodeSet s;
    for (const NodeInfo& n : m_nodes)
        if (n.cpus.intersects(cpus))
            s.set(n.id);
    return s;
}

uint64_t Topology::free_memory(const NodeSet& nodes) const
{
    uint64_t sum = 0;
    for (const NodeInfo& n : m_nodes)
        if (nodes.test(n.id))
            sum += n.mem_free;
    return sum;
}

std::optional<uint32_t> Topology::distance(uint32_t from, uint32_t to) const
{
    const NodeInfo* n = node(from);
    if (!n || !node(to))
        return std::nullopt;
    for (auto [id, d] : n->distances)
        if (id == to)
            return d;
    return std::nullopt;
}

} // namespace xkvm::numa

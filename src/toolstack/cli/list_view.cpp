#include "toolstack/cli/list_view.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace xkvm::cli {

namespace {

using nlohmann::json;

template<typename T>
T field(const json& j, const char* key, T fallback)
{
    if (!j.is_object())
        return fallback;
    auto it = j.find(key);
    if (it == j.end())
        return fallback;
    if constexpr (std::is_same_v<T, std::string>) {
        return it->is_string() ? it->get<std::string>() : fallback;
    } else if constexpr (std::is_same_v<T, bool>) {
        return it->is_boolean() ? it->get<bool>() : fallback;
    } else {
        return it->is_number() ? it->get<T>() : fallback;
    }
}

numa::CpuSet cpu_set(const numa::Topology& topo, const json& list)
{
    if (!list.is_array() || list.empty())
        return topo.online_cpus();
    numa::CpuSet s;
    for (const auto& c : list)
        if (c.is_number_unsigned() && c.get<uint64_t>() < 65536)
            s.set(c.get<uint32_t>());
    return s;
}

const json& at_or_null(const json& j, const char* key)
{
    static const json null;
    if (!j.is_object())
        return null;
    auto it = j.find(key);
    return it == j.end() ? null : *it;
}

} // namespace

plan::DomainListEntry domain_entry(const numa::Topology& topo, const json& rec)
{
    plan::DomainListEntry e;
    e.name = field<std::string>(rec, "name", "?");
    e.domid = field<uint32_t>(rec, "domid", 0);
    e.memory_mib = field<uint64_t>(rec, "memory_mib", 0);
    e.vcpus_online = field<uint32_t>(rec, "vcpus", 0);
    std::string state = field<std::string>(rec, "state", "");
    const json& status = at_or_null(rec, "status");
    e.paused = field<bool>(status, "paused", state == "creating");
    e.time_s = static_cast<double>(field<uint64_t>(status, "cpu_time_ns", 0)) / 1e9;
    const json& vcpus = at_or_null(status, "vcpus");
    bool any_running = false, all_blocked = vcpus.is_array() && !vcpus.empty();
    if (vcpus.is_array())
        for (const auto& v : vcpus) {
            if (!field<bool>(v, "online", false))
                continue;
            any_running = any_running || field<bool>(v, "running", false);
            all_blocked = all_blocked && field<bool>(v, "blocked", false);
        }
    e.running = any_running;
    e.blocked = !any_running && all_blocked;
    if (state == "shutdown" && rec.contains("shutdown_reason"))
        e.shutdown_reason = field<unsigned>(rec, "shutdown_reason", 0);
    const json& nodes = at_or_null(rec, "nodes");
    if (nodes.is_array() && !nodes.empty()) {
        for (const auto& n : nodes)
            if (n.is_number_unsigned() && n.get<uint64_t>() < 4096)
                e.node_affinity.set(n.get<uint32_t>());
    } else {
        e.node_affinity = topo.all_nodes();
    }
    return e;
}

plan::DomainListEntry host_entry(const numa::Topology& topo, uint64_t total_mib, double cpu_time_s)
{
    plan::DomainListEntry e;
    e.name = "Domain-0";
    e.domid = 0;
    e.memory_mib = total_mib;
    e.vcpus_online = static_cast<uint32_t>(topo.online_cpus().count());
    e.running = true;
    e.time_s = cpu_time_s;
    e.node_affinity = topo.all_nodes();
    return e;
}

std::string verbose_suffix(const json& rec)
{
    std::string reason = "-";
    if (field<std::string>(rec, "state", "") == "shutdown" && rec.contains("shutdown_reason"))
        reason = fmt::format("{:x}", field<unsigned>(rec, "shutdown_reason", 0));
    return fmt::format(" {} {:>8} {:>16}", field<std::string>(rec, "uuid", "-"), reason, "-");
}

std::vector<plan::VcpuAffinity> current_affinity(const numa::Topology& topo, const json& rec)
{
    uint32_t n = field<uint32_t>(rec, "max_vcpus", field<uint32_t>(rec, "vcpus", 1));
    const json& hard = at_or_null(rec, "hard");
    const json& soft = at_or_null(rec, "soft");
    std::vector<plan::VcpuAffinity> out;
    for (uint32_t i = 0; i < n && i < 4096; ++i) {
        plan::VcpuAffinity a;
        a.hard = cpu_set(topo, hard.is_array() && i < hard.size() ? hard[i] : json());
        a.soft = cpu_set(topo, soft.is_array() && i < soft.size() ? soft[i] : json());
        out.push_back(a);
    }
    return out;
}

std::vector<plan::VcpuListEntry> vcpu_entries(const numa::Topology& topo, const json& rec)
{
    std::vector<plan::VcpuListEntry> out;
    auto affinity = current_affinity(topo, rec);
    const json& vcpus = at_or_null(at_or_null(rec, "status"), "vcpus");
    if (!vcpus.is_array())
        return out;
    for (const auto& v : vcpus) {
        plan::VcpuListEntry e;
        e.domain = field<std::string>(rec, "name", "?");
        e.domid = field<uint32_t>(rec, "domid", 0);
        e.vcpu = field<uint32_t>(v, "id", 0);
        e.online = field<bool>(v, "online", false);
        int cpu = field<int>(v, "cpu", 0);
        e.cpu = cpu < 0 ? 0 : static_cast<uint32_t>(cpu);
        e.running = field<bool>(v, "running", false);
        e.blocked = field<bool>(v, "blocked", false);
        e.time_s = static_cast<double>(field<uint64_t>(v, "time_ns", 0)) / 1e9;
        if (e.vcpu < affinity.size()) {
            e.hard = affinity[e.vcpu].hard;
            e.soft = affinity[e.vcpu].soft;
        }
        out.push_back(e);
    }
    return out;
}

std::string uptime_string(uint64_t s, bool short_mode)
{
    uint64_t day = s / 86400, hour = s % 86400 / 3600, min = s % 3600 / 60, sec = s % 60;
    std::string days = day > 1 ? fmt::format("{} days, ", day) : day == 1 ? "1 day, " : "";
    if (short_mode)
        return fmt::format("{}{:2}:{:02}", days, hour, min);
    return fmt::format("{}{:2}:{:02}:{:02}", days, hour, min, sec);
}

double host_cpu_seconds()
{
    std::ifstream in("/proc/stat");
    std::string cpu;
    uint64_t user = 0, nice = 0, system = 0;
    in >> cpu >> user >> nice >> system;
    long ticks = ::sysconf(_SC_CLK_TCK);
    return static_cast<double>(user + nice + system) / static_cast<double>(ticks > 0 ? ticks : 100);
}

uint64_t host_memory_mib()
{
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    uint64_t kib = 0;
    while (in >> key >> kib >> unit)
        if (key == "MemTotal:")
            return kib / 1024;
    return 0;
}

uint64_t host_uptime_seconds()
{
    std::ifstream in("/proc/uptime");
    double up = 0;
    in >> up;
    return static_cast<uint64_t>(up);
}

std::string sched_credit_table(const nlohmann::json& rows)
{
    std::string out = fmt::format("{:<33} {:>4} {:>6} {:>4}\n", "Name", "ID", "Weight", "Cap");
    for (const auto& r : rows) {
        if (!r.is_object())
            continue;
        auto num = [&](const char* key) -> uint64_t {
            auto it = r.find(key);
            return it != r.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
        };
        auto name = r.find("name");
        out += fmt::format("{:<33} {:>4} {:>6} {:>4}\n", name != r.end() && name->is_string() ? name->get<std::string>() : "?",
                           num("domid"), num("weight"), num("cap"));
    }
    return out;
}

} // namespace xkvm::cli

#include "cpuctl/cpu_groups.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/unique_fd.h"

namespace xkvm::cpuctl {

namespace {

std::string read_text(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string trimmed(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

// Control files exist in a cgroup already; O_CREAT only matters in a fixture tree.
Status write_text(const std::string& path, std::string_view text)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd)
        return make_unexpected(Error::from_errno(path));
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return make_unexpected(Error::from_errno(fmt::format("writing '{}' to {}", text, path)));
    return {};
}

Status make_dir(const std::string& path)
{
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
        return make_unexpected(Error::from_errno(fmt::format("mkdir {}", path)));
    return {};
}

std::vector<std::string> split(std::string_view s, char sep)
{
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(sep, start);
        if (end == std::string_view::npos)
            end = s.size();
        out.emplace_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

bool has_token(std::string_view list, char sep, std::string_view token)
{
    auto items = split(list, sep);
    return std::find(items.begin(), items.end(), token) != items.end();
}

// Our own cgroup in the hierarchy whose /proc/self/cgroup line satisfies `match`.
std::optional<std::string> own_cgroup(const std::string& proc_cgroup, auto match)
{
    std::istringstream in(proc_cgroup);
    for (std::string line; std::getline(in, line);) {
        auto fields = split(line, ':');
        if (fields.size() >= 3 && match(fields[0], fields[1]))
            return line.substr(fields[0].size() + fields[1].size() + 2);
    }
    return std::nullopt;
}

std::string join(const std::string& mount, const std::string& own)
{
    return own == "/" ? mount : mount + own;
}

} // namespace

std::string_view mechanism_name(Mechanism m)
{
    switch (m) {
    case Mechanism::CgroupV2: return "cgroup2";
    case Mechanism::CgroupV1: return "cgroup1";
    case Mechanism::Autogroup: return "autogroup";
    case Mechanism::None: break;
    }
    return "none";
}

uint64_t v1_shares(uint32_t weight)
{
    return std::clamp<uint64_t>(uint64_t(weight) * 4, 2, 262144);
}

uint64_t v2_weight(uint32_t weight)
{
    return std::clamp<uint64_t>((uint64_t(weight) * 100 + kDefaultWeight / 2) / kDefaultWeight, 1, 10000);
}

int64_t v1_quota_us(uint32_t cap)
{
    return cap == 0 ? -1 : int64_t(cap) * kPeriodUs / 100;
}

std::string v2_max(uint32_t cap)
{
    return cap == 0 ? fmt::format("max {}", kPeriodUs) : fmt::format("{} {}", v1_quota_us(cap), kPeriodUs);
}

std::string instance_name(std::string_view rundir)
{
    uint64_t h = 0xcbf29ce484222325ull; // FNV-1a: stable across daemons of the same rundir
    for (char c : rundir)
        h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    return fmt::format("{:016x}", h);
}

CpuGroups CpuGroups::detect(std::string root, std::string instance)
{
    while (!root.empty() && root.back() == '/')
        root.pop_back();
    CpuGroups g(std::move(root), std::move(instance));
    g.m_autogroup = read_text(g.host("/proc/sys/kernel/sched_autogroup_enabled")).starts_with("1");
    g.detect_cgroups();
    if (g.m_mech == Mechanism::None && g.m_autogroup)
        g.m_mech = Mechanism::Autogroup;
    return g;
}

void CpuGroups::detect_cgroups()
{
    std::string mounts = read_text(host("/proc/self/mounts"));
    std::string own = read_text(host("/proc/self/cgroup"));
    std::istringstream in(mounts);
    std::string v1_mount, v2_mount;
    for (std::string line; std::getline(in, line);) {
        auto f = split(line, ' ');
        if (f.size() < 4)
            continue;
        if (f[2] == "cgroup2" && v2_mount.empty())
            v2_mount = f[1];
        else if (f[2] == "cgroup" && has_token(f[3], ',', "cpu") && v1_mount.empty())
            v1_mount = f[1];
    }
    auto v2_own = own_cgroup(own, [](const std::string& id, const std::string&) { return id == "0"; });
    auto v1_own = own_cgroup(own, [](const std::string&, const std::string& c) { return has_token(c, ',', "cpu"); });
    if (!v2_mount.empty() && v2_own && try_v2(v2_mount, *v2_own))
        return;
    if (!v1_mount.empty() && v1_own && try_v1(v1_mount, *v1_own))
        return;
    if (v2_mount.empty() && v1_mount.empty())
        m_why = "no cgroup file system with the cpu controller is mounted";
}

bool CpuGroups::try_v2(const std::string& mount, const std::string& own)
{
    std::string parent = host(join(mount, own));
    if (!has_token(trimmed(read_text(parent + "/cgroup.controllers")), ' ', "cpu")) {
        m_why = fmt::format("cgroup2 at {}: the cpu controller is not available there", parent);
        return false;
    }
    // Our own cgroup holds processes (us): only the root may then enable controllers below it.
    if (auto r = write_text(parent + "/cgroup.subtree_control", "+cpu"); !r) {
        m_why = fmt::format("cgroup2: cannot enable the cpu controller below {}: {}", parent, r.error().message);
        return false;
    }
    m_mech = Mechanism::CgroupV2;
    m_parent = parent;
    m_why.clear();
    return true;
}

bool CpuGroups::try_v1(const std::string& mount, const std::string& own)
{
    std::string parent = host(join(mount, own));
    if (::access((parent + "/cpu.shares").c_str(), F_OK) != 0 || ::access(parent.c_str(), W_OK) != 0) {
        m_why = fmt::format("cgroup1 cpu at {}: {}", parent, errno_string(errno));
        return false;
    }
    m_mech = Mechanism::CgroupV1;
    m_parent = parent;
    m_why.clear();
    return true;
}

std::string CpuGroups::group_prefix() const
{
    return m_parent.empty() ? std::string() : fmt::format("{}/xkvm-{}-", m_parent, m_instance);
}

std::string CpuGroups::group_dir(uint32_t domid) const
{
    return m_parent.empty() ? std::string() : fmt::format("{}{}", group_prefix(), domid);
}

std::vector<uint32_t> CpuGroups::groups_present() const
{
    std::vector<uint32_t> out;
    if (m_parent.empty())
        return out;
    std::string prefix = fmt::format("xkvm-{}-", m_instance);
    std::error_code ec;
    for (auto& entry : std::filesystem::directory_iterator(m_parent, ec)) {
        std::string name = entry.path().filename().string();
        if (!name.starts_with(prefix) || !entry.is_directory())
            continue;
        uint32_t domid = 0;
        auto [end, err] = std::from_chars(name.data() + prefix.size(), name.data() + name.size(), domid);
        if (err == std::errc() && end == name.data() + name.size())
            out.push_back(domid);
    }
    return out;
}

Status CpuGroups::make_group(uint32_t domid)
{
    // Side by side under our own cgroup, not under one group of all domains: each domain is then a
    // peer of the host's other groups, as a Xen domain is of dom0, and an idle or stopped domain
    // lends its share to no other.
    return make_dir(group_dir(domid));
}

Status CpuGroups::write_share(uint32_t domid, CpuShare share)
{
    std::string dir = group_dir(domid);
    if (m_mech == Mechanism::CgroupV2) {
        TRY(write_text(dir + "/cpu.weight", std::to_string(v2_weight(share.weight))));
        return write_text(dir + "/cpu.max", v2_max(share.cap));
    }
    TRY(write_text(dir + "/cpu.shares", std::to_string(v1_shares(share.weight))));
    TRY(write_text(dir + "/cpu.cfs_period_us", std::to_string(kPeriodUs)));
    return write_text(dir + "/cpu.cfs_quota_us", std::to_string(v1_quota_us(share.cap)));
}

Status CpuGroups::join_group(uint32_t domid, pid_t pid, CpuShare share)
{
    TRY(make_group(domid));
    TRY(write_share(domid, share));
    return write_text(group_dir(domid) + "/cgroup.procs", std::to_string(pid));
}

CpuGroups::Placement CpuGroups::place(uint32_t domid, pid_t pid, CpuShare share)
{
    std::string problem = m_why;
    if (m_mech == Mechanism::CgroupV1 || m_mech == Mechanism::CgroupV2) {
        auto r = join_group(domid, pid, share);
        if (r) {
            m_placed[domid] = m_mech;
            return { m_mech, {} };
        }
        problem = r.error().message;
        remove(domid);
    }
    Mechanism m = m_autogroup ? Mechanism::Autogroup : Mechanism::None;
    m_placed[domid] = m;
    if (share != CpuShare {})
        problem += fmt::format("{}weight {} and cap {} are not applied without a cpu cgroup",
                               problem.empty() ? "" : "; ", share.weight, share.cap);
    return { m, problem };
}

Mechanism CpuGroups::mechanism_of(uint32_t domid) const
{
    auto it = m_placed.find(domid);
    return it == m_placed.end() ? Mechanism::None : it->second;
}

Status CpuGroups::set(uint32_t domid, pid_t pid, CpuShare share)
{
    Mechanism m = mechanism_of(domid);
    if (m != Mechanism::CgroupV1 && m != Mechanism::CgroupV2)
        return fail(EOPNOTSUPP, "domain {} has no cpu cgroup (CPU control: {}{}{}): weight and cap cannot be applied",
                    domid, mechanism_name(m), m_why.empty() ? "" : "; ", m_why);
    TRY(write_share(domid, share));
    // Also puts back a VMM that someone moved out of its group meanwhile.
    return write_text(group_dir(domid) + "/cgroup.procs", std::to_string(pid));
}

Status CpuGroups::leave(pid_t pid)
{
    if (m_parent.empty())
        return {};
    return write_text(m_parent + "/cgroup.procs", std::to_string(pid));
}

void CpuGroups::remove(uint32_t domid)
{
    m_placed.erase(domid);
    if (!m_parent.empty())
        ::rmdir(group_dir(domid).c_str());
}

void CpuGroups::remove_unused()
{
    for (uint32_t domid : groups_present())
        if (!m_placed.count(domid) && trimmed(read_text(group_dir(domid) + "/cgroup.procs")).empty())
            ::rmdir(group_dir(domid).c_str());
}

} // namespace xkvm::cpuctl

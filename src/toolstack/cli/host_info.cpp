#include "toolstack/cli/host_info.h"

#include "hv/select.h"

#include <cpuid.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "numa/topology.h"
#include "xen/version_info.h"

namespace xkvm::cli {

namespace {

std::string read_first_line(const std::string& path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

uint64_t meminfo_kib(const std::string& key)
{
    std::ifstream in("/proc/meminfo");
    std::string k;
    uint64_t v;
    std::string unit;
    while (in >> k >> v >> unit)
        if (k == key + ":")
            return v;
    return 0;
}

std::array<uint32_t, 8> cpuid_caps()
{
    // Xen's featureset words, in its order: 1.edx, 1.ecx, e1.edx, e1.ecx, 0xd:1.eax, 7:0.ebx,
    // 7:0.ecx, e7.edx.
    std::array<uint32_t, 8> caps {};
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        caps[0] = d;
        caps[1] = c;
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d)) {
        caps[2] = d;
        caps[3] = c;
    }
    if (__get_cpuid_count(0xd, 1, &a, &b, &c, &d))
        caps[4] = a;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        caps[5] = b;
        caps[6] = c;
    }
    if (__get_cpuid(0x80000007, &a, &b, &c, &d))
        caps[7] = d;
    return caps;
}

} // namespace

namespace {

std::string accelerator()
{
    auto forced = hv::accel_from_environment();
    if (!forced)
        return forced.error().message;
    if (*forced != hv::Accel::Auto)
        return std::string(hv::accel_name(*forced));
    return std::string(hv::accel_name(hv::resolve_auto()));
}

} // namespace

HostFacts read_host_facts()
{
    HostFacts f;
    utsname u {};
    if (::uname(&u) == 0) {
        f.host = u.nodename;
        f.release = u.release;
        f.version = u.version;
        f.machine = u.machine;
    }
    long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    long conf = ::sysconf(_SC_NPROCESSORS_CONF);
    f.nr_cpus = online > 0 ? static_cast<uint32_t>(online) : 1;
    f.max_cpu_id = conf > 0 ? static_cast<uint32_t>(conf - 1) : f.nr_cpus - 1;
    if (auto topo = numa::Topology::detect())
        f.nr_nodes = static_cast<uint32_t>(std::max<size_t>(1, topo->node_count()));

    std::ifstream cpuinfo("/proc/cpuinfo");
    uint32_t siblings = 0, cores = 0;
    for (std::string line; std::getline(cpuinfo, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
        std::string value = line.substr(colon + 1);
        if (key == "cpu MHz" && f.cpu_khz == 0)
            f.cpu_khz = static_cast<uint32_t>(std::stod(value) * 1000);
        else if (key == "siblings" && siblings == 0)
            siblings = static_cast<uint32_t>(std::stoul(value));
        else if (key == "cpu cores" && cores == 0)
            cores = static_cast<uint32_t>(std::stoul(value));
    }
    if (cores) {
        f.cores_per_socket = cores;
        f.threads_per_core = siblings >= cores ? siblings / cores : 1;
    }
    f.hw_caps = cpuid_caps();
    f.hap = read_first_line("/sys/module/kvm_intel/parameters/ept") == "Y"
         || read_first_line("/sys/module/kvm_amd/parameters/npt") == "1"
         || read_first_line("/sys/module/kvm_amd/parameters/npt") == "Y";
    f.total_mib = meminfo_kib("MemTotal") / 1024;
    f.free_mib = meminfo_kib("MemAvailable") / 1024;
    f.commandline = read_first_line("/proc/cmdline");
    f.accel = accelerator();
    return f;
}

std::vector<std::pair<std::string, std::string>> info_fields(const HostFacts& f)
{
    using namespace xen;
    std::vector<std::pair<std::string, std::string>> v;
    v.emplace_back("host", f.host);
    v.emplace_back("release", f.release);
    v.emplace_back("version", f.version);
    v.emplace_back("machine", f.machine);
    v.emplace_back("nr_cpus", std::to_string(f.nr_cpus));
    v.emplace_back("max_cpu_id", std::to_string(f.max_cpu_id));
    v.emplace_back("nr_nodes", std::to_string(f.nr_nodes));
    v.emplace_back("cores_per_socket", std::to_string(f.cores_per_socket));
    v.emplace_back("threads_per_core", std::to_string(f.threads_per_core));
    v.emplace_back("cpu_mhz", fmt::format("{}.{:03}", f.cpu_khz / 1000, f.cpu_khz % 1000));
    v.emplace_back("hw_caps", fmt::format("{:08x}:{:08x}:{:08x}:{:08x}:{:08x}:{:08x}:{:08x}:{:08x}", f.hw_caps[0],
                                          f.hw_caps[1], f.hw_caps[2], f.hw_caps[3], f.hw_caps[4], f.hw_caps[5],
                                          f.hw_caps[6], f.hw_caps[7]));
    // KVM gives hardware-assisted guests (the emulated CPU has no EPT/NPT to offer); PV guests are
    // not supported.
    v.emplace_back("virt_caps", f.hap && f.accel == "kvm" ? "hvm hap" : "hvm");
    v.emplace_back("xkvm_accel", f.accel);
    v.emplace_back("total_memory", std::to_string(f.total_mib));
    v.emplace_back("free_memory", std::to_string(f.free_mib));
    v.emplace_back("sharing_freed_memory", "0");
    v.emplace_back("sharing_used_memory", "0");
    v.emplace_back("outstanding_claims", "0");
    // Every CPU belongs to the one (implicit) pool, as Xen's Pool-0 holds them all.
    v.emplace_back("free_cpus", "0");
    v.emplace_back("xen_major", std::to_string(kXenMajor));
    v.emplace_back("xen_minor", std::to_string(kXenMinor));
    v.emplace_back("xen_extra", kXenExtraversion);
    v.emplace_back("xen_version", fmt::format("{}.{}{}", kXenMajor, kXenMinor, kXenExtraversion));
    v.emplace_back("xen_caps", kXenCapabilities);
    v.emplace_back("xen_scheduler", "linux"); // vCPUs are host threads: the host kernel schedules them
    v.emplace_back("xen_pagesize", "4096");
    v.emplace_back("platform_params", "virt_start=0xffff800000000000");
    v.emplace_back("xen_changeset", kXenChangeset);
    v.emplace_back("xen_commandline", f.commandline);
    v.emplace_back("cc_compiler", fmt::format("{} {}", kCompiler, __VERSION__));
    v.emplace_back("cc_compile_by", "xkvm");
    v.emplace_back("cc_compile_domain", "");
    v.emplace_back("cc_compile_date", "");
    v.emplace_back("build_id", "");
    v.emplace_back("xend_config_format", "4");
    return v;
}

std::string format_info(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& only)
{
    std::string out;
    for (const auto& [k, v] : fields) {
        if (!only.empty()) {
            if (k == only)
                out += v + "\n";
            continue;
        }
        out += fmt::format("{:<23}: {}\n", k, v);
    }
    return out;
}

} // namespace xkvm::cli

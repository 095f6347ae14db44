#include "toolstack/plan/affinity_view.h"

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

#include "numa/affinity.h"

namespace xkvm::plan {

// ---- vcpu-list ----

std::string vcpu_list_header()
{
    return fmt::format("{:<32} {:>5} {:>5} {:>5} {:>5} {:>9} {}\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
                       "Affinity (Hard / Soft)");
}

std::string format_vcpu_list_row(const numa::Topology& topo, const VcpuListEntry& e)
{
    std::string out = fmt::format("{:<32} {:>5} {:>5}", e.domain, e.domid, e.vcpu);
    if (e.online)
        out += fmt::format("{:>5} {:>3}{}- ", e.cpu, e.running ? 'r' : '-', e.blocked ? 'b' : '-');
    else
        out += fmt::format("{:>5} {:>3}{}p ", '-', '-', '-');
    out += fmt::format("{:9.1f}  {} / {}\n", e.time_s, numa::format_cpus(topo, e.hard), numa::format_cpus(topo, e.soft));
    return out;
}

std::string format_vcpu_list(const numa::Topology& topo, const std::vector<VcpuListEntry>& entries)
{
    std::string out = vcpu_list_header();
    for (const auto& e : entries)
        out += format_vcpu_list_row(topo, e);
    return out;
}

// ---- list [-n] ----

std::string domain_list_header(bool numa)
{
    std::string out = "Name                                        ID   Mem VCPUs\tState\tTime(s)";
    if (numa)
        out += " NODE Affinity";
    return out + "\n";
}

std::string format_domain_list_row(const numa::Topology& topo, const DomainListEntry& e, bool numa)
{
    static constexpr std::string_view kReasonLetters = "-rscwS"; // by SHUTDOWN_* code
    const unsigned reason = e.shutdown_reason.value_or(0);
    const char reason_letter = reason < kReasonLetters.size() ? kReasonLetters[reason] : '?';
    std::string out = fmt::format("{:<40} {:>5} {:>5} {:>5}     {}{}{}{}{}{}  {:8.1f}", e.name, e.domid, e.memory_mib,
        e.vcpus_online, e.running ? 'r' : '-', e.blocked ? 'b' : '-', e.paused ? 'p' : '-',
        e.shutdown_reason ? 's' : '-', reason_letter, e.dying ? 'd' : '-', e.time_s);
    if (numa)
        out += " " + numa::format_nodes(topo, e.node_affinity);
    return out + "\n";
}

std::string format_domain_list(const numa::Topology& topo, const std::vector<DomainListEntry>& entries, bool numa)
{
    std::string out = domain_list_header(numa);
    for (const auto& e : entries)
        out += format_domain_list_row(topo, e, numa);
    return out;
}

// ---- vcpu-pin ----

namespace {

Result<std::optional<config::CpuSetSpec>> parse_set_arg(std::string_view text, std::string_view what)
{
    if (text == "-")
        return std::optional<config::CpuSetSpec> {};
    auto spec = numa::parse_cpuset_string(text);
    if (!spec)
        return fail(EINVAL, "vcpu-pin: {} affinity: {}", what, spec.error().message);
    return std::optional<config::CpuSetSpec> { spec.release_value() };
}

} // namespace

Result<VcpuPinRequest> parse_vcpu_pin_args(std::string_view vcpu, std::string_view hard,
                                           std::optional<std::string_view> soft)
{
    VcpuPinRequest req;
    if (vcpu != "all") {
        uint32_t id = 0;
        auto [end, ec] = std::from_chars(vcpu.data(), vcpu.data() + vcpu.size(), id);
        if (vcpu.empty() || ec != std::errc() || end != vcpu.data() + vcpu.size())
            return fail(EINVAL, "vcpu-pin: invalid vCPU \"{}\": expected a vCPU number or \"all\"", vcpu);
        req.vcpu = id;
    }
    req.hard = TRY(parse_set_arg(hard, "hard"));
    if (soft)
        req.soft = TRY(parse_set_arg(*soft, "soft"));
    if (!req.hard && !req.soft)
        return fail(EINVAL, "vcpu-pin: nothing to change: hard affinity is \"-\" and no soft affinity is given");
    return req;
}

Result<VcpuPinResult> apply_vcpu_pin(const numa::Topology& topo, const VcpuPinRequest& request,
                                     const std::vector<VcpuAffinity>& current)
{
    if (current.empty())
        return fail(EINVAL, "vcpu-pin: the domain has no vCPUs");
    if (request.vcpu && *request.vcpu >= current.size())
        return fail(EINVAL, "vcpu-pin: the domain has no vCPU {} (its vCPUs are 0-{})", *request.vcpu,
                    current.size() - 1);

    std::optional<numa::CpuSet> hard, soft;
    if (request.hard) {
        hard = TRY(numa::resolve_cpuset(topo, *request.hard, "vcpu-pin: hard affinity"));
        if (hard->empty())
            return fail(EINVAL, "vcpu-pin: hard affinity \"{}\" leaves no CPU to run on",
                        numa::format_cpuset_spec(*request.hard));
    }
    if (request.soft)
        soft = TRY(numa::resolve_cpuset(topo, *request.soft, "vcpu-pin: soft affinity"));

    VcpuPinResult out;
    out.affinity = current;
    for (uint32_t i = 0; i < current.size(); ++i) {
        if (request.vcpu && *request.vcpu != i)
            continue;
        VcpuAffinity& a = out.affinity[i];
        if (hard)
            a.hard = *hard;
        if (soft)
            a.soft = *soft;
        out.changed.push_back(i);
        out.threads.push_back(numa::effective_affinity(a.hard, a.soft));
        if (a.soft.empty())
            out.warnings.push_back(fmt::format("vCPU {}: soft affinity is empty; it runs on its hard affinity {}", i,
                                               numa::format_cpus(topo, a.hard)));
        else if (!a.soft.intersects(a.hard))
            out.warnings.push_back(fmt::format(
                "vCPU {}: soft affinity {} does not meet hard affinity {}; it runs on its hard affinity", i,
                numa::format_cpus(topo, a.soft), numa::format_cpus(topo, a.hard)));
    }
    std::vector<numa::CpuSet> all_hard, all_soft;
    for (const auto& a : out.affinity) {
        all_hard.push_back(a.hard);
        all_soft.push_back(a.soft);
    }
    out.derived_nodes = numa::derive_node_affinity(topo, all_hard, all_soft);
    return out;
}

Result<VcpuPinResult> vcpu_pin(const numa::Topology& topo, const std::vector<VcpuAffinity>& current,
                               std::string_view vcpu, std::string_view hard, std::optional<std::string_view> soft)
{
    VcpuPinRequest req = TRY(parse_vcpu_pin_args(vcpu, hard, soft));
    return apply_vcpu_pin(topo, req, current);
}

} // namespace xkvm::plan

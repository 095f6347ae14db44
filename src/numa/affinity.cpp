#include "numa/affinity.h"

#include <cerrno>

#include "base/log.h"

namespace xkvm::numa {

namespace {

// Ids of [first, last] missing from `have`, compact ("8-15"); the part past have.bound() is
// written as a range so a huge range costs nothing.
template<typename Set>
std::string missing_ids(const Set& have, uint32_t first, uint32_t last, size_t& count)
{
    Set missing;
    uint32_t bound = have.bound();
    for (uint32_t id = first; id <= last && id < bound; ++id)
        if (!have.test(id))
            missing.set(id);
    count = missing.count();
    std::string out = missing.to_string();
    if (last >= bound) {
        uint32_t tail = std::max(first, bound);
        count += static_cast<size_t>(last) - tail + 1;
        if (!out.empty())
            out += ',';
        out += tail == last ? fmt::format("{}", tail) : fmt::format("{}-{}", tail, last);
    }
    return out;
}

Status check_cpus(const Topology& topo, uint32_t first, uint32_t last, std::string_view what)
{
    size_t n = 0;
    std::string missing = missing_ids(topo.online_cpus(), first, last, n);
    if (n == 0)
        return {};
    return fail(ENOENT, "{}: {} {} {} not online on this host (online CPUs: {})", what, n == 1 ? "CPU" : "CPUs",
        missing, n == 1 ? "is" : "are", topo.online_cpus().to_string());
}

Status check_nodes(const Topology& topo, uint32_t first, uint32_t last, std::string_view what)
{
    size_t n = 0;
    std::string missing = missing_ids(topo.all_nodes(), first, last, n);
    if (n == 0)
        return {};
    return fail(ENOENT, "{}: NUMA {} {} {} not exist on this host (host nodes: {})", what,
        n == 1 ? "node" : "nodes", missing, n == 1 ? "does" : "do", topo.all_nodes().to_string());
}

} // namespace

Result<CpuSet> resolve_cpuset(const Topology& topo, const config::CpuSetSpec& spec, std::string_view what)
{
    using Kind = config::CpuSetTerm::Kind;
    CpuSet out;
    for (const config::CpuSetTerm& t : spec.terms) {
        CpuSet part;
        switch (t.kind) {
        case Kind::All:
            if (t.exclude)
                return fail(EINVAL, "{}: \"^\" cannot be combined with \"all\"", what);
            part = topo.online_cpus();
            break;
        case Kind::Cpus:
            if (t.last < t.first)
                return fail(EINVAL, "{}: CPU range {}-{} ends before it starts", what, t.first, t.last);
            TRY(check_cpus(topo, t.first, t.last, what));
            part = CpuSet::range(t.first, t.last);
            break;
        case Kind::Nodes:
            if (t.last < t.first)
                return fail(EINVAL, "{}: node range {}-{} ends before it starts", what, t.first, t.last);
            TRY(check_nodes(topo, t.first, t.last, what));
            part = topo.cpus_of(NodeSet::range(t.first, t.last));
            break;
        }
        if (t.exclude)
            out -= part;
        else
            out |= part;
    }
    return out;
}

Result<std::vector<CpuSet>> resolve_affinity(const Topology& topo, const config::AffinitySpec& spec,
    uint32_t vcpus, std::string_view what)
{
    using Form = config::AffinitySpec::Form;
    std::vector<CpuSet> out(vcpus, topo.online_cpus());
    if (spec.form == Form::Unset)
        return out;
    if (spec.sets.empty())
        return fail(EINVAL, "{}: no CPU set given", what);

    if (spec.form == Form::AllVcpus) {
        CpuSet set = TRY(resolve_cpuset(topo, spec.sets.front(), what));
        if (set.empty() && vcpus > 0)
            return fail(EINVAL, "{}: \"{}\" leaves the vCPUs no CPU to run on", what,
                format_cpuset_spec(spec.sets.front()));
        std::fill(out.begin(), out.end(), set);
        return out;
    }

    if (spec.sets.size() > vcpus)
        log::get("numa")->info("{}: {} entries for {} vCPUs; the extra ones are ignored", what, spec.sets.size(), vcpus);
    for (uint32_t i = 0; i < vcpus && i < spec.sets.size(); ++i) {
        auto set = resolve_cpuset(topo, spec.sets[i], what);
        if (!set)
            return fail(set.error().code, "vCPU {}: {}", i, set.error().message);
        if (set->empty())
            return fail(EINVAL, "{}: \"{}\" leaves vCPU {} no CPU to run on", what, format_cpuset_spec(spec.sets[i]), i);
        out[i] = set.release_value();
    }
    return out;
}

Result<NodeSet> resolve_nodes(const Topology& topo, const std::vector<uint32_t>& nodes)
{
    NodeSet out;
    for (uint32_t id : nodes) {
        TRY(check_nodes(topo, id, id, "nodes"));
        out.set(id);
    }
    return out;
}

NodeSet derive_node_affinity(const Topology& topo, const std::vector<CpuSet>& hard, const std::vector<CpuSet>& soft)
{
    CpuSet hard_union, soft_union;
    for (const CpuSet& s : hard)
        hard_union |= s;
    for (const CpuSet& s : soft)
        soft_union |= s;
    hard_union &= topo.online_cpus();
    CpuSet narrowed = soft_union & hard_union;
    return topo.nodes_of(narrowed.empty() ? hard_union : narrowed);
}

CpuSet effective_affinity(const CpuSet& hard, const CpuSet& soft)
{
    CpuSet both = hard & soft;
    return both.empty() ? hard : both;
}

std::string format_cpus(const Topology& topo, const CpuSet& cpus)
{
    if (cpus.empty())
        return "none";
    if (topo.online_cpus().is_subset_of(cpus))
        return "all";
    return cpus.to_string();
}

std::string format_nodes(const Topology& topo, const NodeSet& nodes)
{
    if (nodes.empty())
        return "none";
    if (topo.all_nodes().is_subset_of(nodes))
        return "all";
    return nodes.to_string();
}

} // namespace xkvm::numa

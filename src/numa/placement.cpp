#include "numa/placement.h"

#include <cerrno>

#include "base/log.h"
#include "numa/affinity.h"

namespace xkvm::numa {

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

struct Candidate {
    NodeSet nodes;
    size_t cpus = 0;      // suitable CPUs on those nodes
    uint64_t vcpus = 0;   // other domains' vCPUs runnable there
    uint64_t free = 0;    // bytes
};

// Same node count is a given (sizes are searched in increasing order): fewer vCPUs already
// there wins, then more free memory. Strictly better only, so ties keep the earlier candidate.
bool better(const Candidate& a, const Candidate& b)
{
    if (a.vcpus != b.vcpus)
        return a.vcpus < b.vcpus;
    return a.free > b.free;
}

// Advances idx (k sorted indices below n) to the next k-combination in lexicographic order.
bool next_combination(std::vector<size_t>& idx, size_t n)
{
    size_t k = idx.size();
    size_t i = k;
    while (i > 0 && idx[i - 1] == n - k + (i - 1))
        --i;
    if (i == 0)
        return false;
    ++idx[i - 1];
    for (size_t j = i; j < k; ++j)
        idx[j] = idx[j - 1] + 1;
    return true;
}

std::optional<Candidate> find_candidate(const Topology& topo, const CpuSet& suitable, const PlacementRequest& req)
{
    std::vector<const NodeInfo*> nodes;
    for (const NodeInfo& n : topo.nodes())
        if (n.cpus.intersects(suitable))
            nodes.push_back(&n);

    for (size_t k = 1; k <= nodes.size(); ++k) {
        std::optional<Candidate> best;
        std::vector<size_t> idx(k);
        for (size_t i = 0; i < k; ++i)
            idx[i] = i;
        do {
            Candidate c;
            CpuSet cpus;
            for (size_t i : idx) {
                c.nodes.set(nodes[i]->id);
                c.free += nodes[i]->mem_free;
                cpus |= nodes[i]->cpus;
                if (auto it = req.load.find(nodes[i]->id); it != req.load.end())
                    c.vcpus += it->second;
            }
            if (req.memory_bytes && c.free < req.memory_bytes)
                continue;
            c.cpus = cpus.count_common(suitable);
            if (req.vcpus && c.cpus < req.vcpus)
                continue;
            if (!best || better(c, *best))
                best = c;
        } while (next_combination(idx, nodes.size()));
        if (best)
            return best; // any candidate with more nodes would be worse
    }
    return std::nullopt;
}

std::string describe_request(const PlacementRequest& req)
{
    return fmt::format("{} vCPU{}, {} MiB", req.vcpus, req.vcpus == 1 ? "" : "s",
        (req.memory_bytes + kMiB - 1) / kMiB);
}

} // namespace

VcpuLoad count_vcpu_load(const Topology& topo, const std::vector<DomainAffinity>& domains)
{
    VcpuLoad load;
    for (const DomainAffinity& d : domains)
        for (const CpuSet& hard : d.hard)
            for (const NodeInfo& n : topo.nodes())
                if (d.nodes.test(n.id) && n.cpus.intersects(hard))
                    ++load[n.id];
    return load;
}

CpuSet PlacementResult::thread_affinity(uint32_t vcpu) const
{
    if (vcpu >= hard.size() || vcpu >= soft.size())
        return {}; // pinning to it fails with a clear error rather than throwing here
    return effective_affinity(hard[vcpu], soft[vcpu]);
}

Result<PlacementResult> place(const Topology& topo, const PlacementRequest& req)
{
    using Form = config::AffinitySpec::Form;
    PlacementResult r;
    r.hard = TRY(resolve_affinity(topo, req.cpus, req.vcpus, "cpus"));
    r.soft = TRY(resolve_affinity(topo, req.cpus_soft, req.vcpus, "cpus_soft"));

    if (req.nodes && !req.nodes->empty()) {
        r.nodes = TRY(resolve_nodes(topo, *req.nodes));
        r.source = NodeAffinitySource::Explicit;
        r.reason = fmt::format("nodes= gives node affinity {}", r.nodes.to_string());
        if (topo.free_memory(r.nodes) < req.memory_bytes)
            log::get("numa")->warn("nodes={}: {} MiB free there, the guest needs {} MiB", r.nodes.to_string(),
                topo.free_memory(r.nodes) / kMiB, (req.memory_bytes + kMiB - 1) / kMiB);
        return r;
    }

    std::string why_not;
    if (req.cpus.form == Form::PerVcpu)
        why_not = "automatic placement off: cpus= is a per-vCPU list";
    else if (req.cpus_soft.form != Form::Unset)
        why_not = "automatic placement off: cpus_soft= is given";
    else if (topo.node_count() <= 1)
        why_not = "single-node host, nothing to place";
    else if (topo.node_count() > kMaxPlacementNodes)
        why_not = fmt::format("automatic placement skipped: {} nodes is more than it handles ({})",
            topo.node_count(), kMaxPlacementNodes);

    if (why_not.empty()) {
        // A single cpus= string applies to every vCPU, so placement searches inside it.
        const CpuSet suitable = req.cpus.form == Form::AllVcpus && !r.hard.empty()
            ? r.hard.front() & topo.online_cpus()
            : topo.online_cpus();
        if (auto c = find_candidate(topo, suitable, req)) {
            r.nodes = c->nodes;
            r.source = NodeAffinitySource::Automatic;
            std::fill(r.soft.begin(), r.soft.end(), topo.cpus_of(c->nodes));
            r.reason = fmt::format("automatic placement chose node{} {} for {}{}: {} CPUs, {} MiB free, "
                                   "{} vCPUs of other domains there",
                c->nodes.count() == 1 ? "" : "s", c->nodes.to_string(), describe_request(req),
                req.cpus.form == Form::AllVcpus ? fmt::format(" inside cpus=\"{}\"", r.hard.front().to_string()) : "",
                c->cpus, c->free / kMiB, c->vcpus);
            return r;
        }
        why_not = fmt::format("automatic placement found no node set with {} free and {} CPUs",
            fmt::format("{} MiB", (req.memory_bytes + kMiB - 1) / kMiB), req.vcpus);
        log::get("numa")->warn("{}; performance may suffer", why_not);
    }

    r.nodes = derive_node_affinity(topo, r.hard, r.soft);
    r.source = NodeAffinitySource::FromAffinity;
    r.reason = fmt::format("{}; node affinity {} from the vCPUs' affinity", why_not, r.nodes.to_string());
    return r;
}

Status check_vnuma_unsupported(bool vnuma_given)
{
    if (!vnuma_given)
        return {};
    return fail(EOPNOTSUPP, "vnuma= is not supported by xkvm: the guest sees a single virtual NUMA node; "
                            "place it on host nodes with nodes= or cpus= instead");
}

} // namespace xkvm::numa

#include "toolstack/plan/numa_plan.h"

#include <algorithm>

#include <fmt/format.h>

#include "memory/memory_map.h"
#include "numa/affinity.h"

namespace xkvm::plan {

namespace {

using Form = config::AffinitySpec::Form;

// Whether place() tried automatic placement (README of numa/, rule 2).
bool placement_attempted(const config::DomainConfig& cfg, const numa::Topology& topo)
{
    return cfg.nodes.empty() && cfg.cpus.form != Form::PerVcpu && cfg.cpus_soft.form == Form::Unset
        && topo.node_count() > 1 && topo.node_count() <= numa::kMaxPlacementNodes;
}

uint64_t to_mib_up(uint64_t bytes) { return (bytes + memory::MiB - 1) / memory::MiB; }

} // namespace

uint64_t placement_memory_bytes(const config::DomainConfig& cfg)
{
    return std::max(cfg.memory_mib, cfg.maxmem_mib) * memory::MiB + kVmmOverheadBytes;
}

std::string_view source_name(numa::NodeAffinitySource source)
{
    switch (source) {
    case numa::NodeAffinitySource::Explicit: return "explicit";
    case numa::NodeAffinitySource::Automatic: return "automatic";
    case numa::NodeAffinitySource::FromAffinity: return "from_affinity";
    }
    return "from_affinity";
}

Result<NumaPlan> plan_numa(const config::DomainConfig& cfg, const numa::Topology& topo, const numa::VcpuLoad& load,
                           std::string* key_out)
{
    auto blame = [&](const char* key, Error e) -> Unexpected<Error> {
        if (key_out)
            *key_out = key;
        return { std::move(e) };
    };
    // Every vCPU thread exists from the start (vcpus= only says how many are online), so all of them
    // get an affinity, and placement sizes for all of them as libxl does.
    const uint32_t vcpus = cfg.maxvcpus;

    // Each setting resolved on its own first, so an error is tied to the key that caused it.
    if (auto r = numa::resolve_affinity(topo, cfg.cpus, vcpus, "cpus"); !r)
        return blame("cpus", r.release_error());
    if (auto r = numa::resolve_affinity(topo, cfg.cpus_soft, vcpus, "cpus_soft"); !r)
        return blame("cpus_soft", r.release_error());
    if (auto r = numa::resolve_nodes(topo, cfg.nodes); !r)
        return blame("nodes", r.release_error());

    numa::PlacementRequest req;
    req.vcpus = vcpus;
    req.memory_bytes = placement_memory_bytes(cfg);
    req.cpus = cfg.cpus;
    req.cpus_soft = cfg.cpus_soft;
    if (!cfg.nodes.empty())
        req.nodes = cfg.nodes;
    req.load = load;
    auto placed = numa::place(topo, req);
    if (!placed)
        return make_unexpected(placed.release_error());

    NumaPlan plan;
    plan.placement = placed.release_value();
    const numa::PlacementResult& p = plan.placement;

    if (p.source == numa::NodeAffinitySource::Explicit) {
        const uint64_t free = topo.free_memory(p.nodes);
        if (free < req.memory_bytes)
            plan.warnings.push_back(fmt::format(
                "nodes={}: {} MiB free there, the guest may need {} MiB; its memory is bound to those nodes and "
                "the domain can fail to get RAM",
                p.nodes.to_string(), free / memory::MiB, to_mib_up(req.memory_bytes)));
    } else if (p.source == numa::NodeAffinitySource::FromAffinity && placement_attempted(cfg, topo)) {
        plan.warnings.push_back(p.reason + "; performance may suffer");
    }

    if (p.source == numa::NodeAffinitySource::Explicit || !(topo.all_nodes() == p.nodes))
        plan.memory_nodes = p.nodes.ids();

    bool any_pinned = false;
    std::vector<std::vector<uint32_t>> affinity(vcpus);
    for (uint32_t i = 0; i < vcpus; ++i) {
        if (cfg.cpus_soft.form != Form::Unset && !p.hard[i].intersects(p.soft[i]))
            plan.warnings.push_back(fmt::format(
                "vCPU {}: soft affinity {} does not meet hard affinity {}; its thread is pinned to the hard one", i,
                numa::format_cpus(topo, p.soft[i]), numa::format_cpus(topo, p.hard[i])));
        const numa::CpuSet eff = p.thread_affinity(i);
        if (topo.online_cpus().is_subset_of(eff))
            continue; // every CPU: nothing to pin
        affinity[i] = eff.ids();
        any_pinned = true;
    }
    if (any_pinned)
        plan.vcpu_affinity = std::move(affinity);
    return plan;
}

} // namespace xkvm::plan

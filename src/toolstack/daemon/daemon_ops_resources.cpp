// The CLI's requests on a running domain's resources: vcpu-pin, vcpu-set, mem-set and mem-max
// (see README.md for each operation's fields).
#include "ipc/ops.h"
#include "toolstack/daemon/daemon.h"

#include "base/log.h"

namespace xkvm::toolstack {

using ipc::Json;

Result<Json> Daemon::op_vcpu_pin(uint64_t client, uint64_t id, const Json& req)
{
    auto* rec = TRY(m_table.lookup(TRY(ipc::get_string(req, "dom", 256))));
    if (!req.contains("vcpus") || !req["vcpus"].is_array() || req["vcpus"].size() > rec->config.maxvcpus)
        return fail(EPROTO, "vcpu-pin: vcpus must be a list of at most {} entries", rec->config.maxvcpus);
    VmmLink* link = link_of(*rec);
    if (!link)
        return fail(ESRCH, "domain '{}' has no VMM", rec->name);
    struct Change {
        uint32_t vcpu;
        std::vector<uint32_t> cpus, hard, soft;
    };
    std::vector<Change> changes;
    for (const auto& v : req["vcpus"]) {
        Change c;
        c.vcpu = static_cast<uint32_t>(TRY(ipc::get_uint(v, "vcpu", rec->config.maxvcpus - 1)));
        c.cpus = TRY(ipc::get_uint_list(v, "cpus", kMaxHostCpuId, kMaxHostCpuId + 1));
        c.hard = TRY(ipc::get_uint_list(v, "hard", kMaxHostCpuId, kMaxHostCpuId + 1));
        c.soft = TRY(ipc::get_uint_list(v, "soft", kMaxHostCpuId, kMaxHostCpuId + 1));
        if (c.cpus.empty())
            return fail(EINVAL, "vcpu-pin: vCPU {} would have no CPU to run on", c.vcpu);
        changes.push_back(std::move(c));
    }
    // Without an explicit nodes=, the node affinity follows the vCPUs' new affinity, as on Xen
    // (memory already placed stays where it is).
    std::optional<std::vector<uint32_t>> derived;
    if (req.contains("nodes"))
        derived = TRY(ipc::get_uint_list(req, "nodes", kMaxHostNodeId, kMaxHostNodeId + 1));
    if (derived && !derived->empty() && rec->config.nodes.empty())
        rec->nodes = *derived;
    auto waiting = std::make_shared<size_t>(changes.size() + 1);
    auto error = std::make_shared<std::optional<Error>>();
    auto finish = [this, client, id, waiting, error] {
        if (--*waiting == 0)
            reply(client, id, *error ? Result<Json>(make_unexpected(**error)) : Result<Json>(Json::object()));
    };
    size_t n = rec->config.maxvcpus;
    rec->hard.resize(n);
    rec->soft.resize(n);
    for (auto& c : changes) {
        rec->hard[c.vcpu] = c.hard;
        rec->soft[c.vcpu] = c.soft;
        link->request(ipc::ops::kSetAffinity, Json { { "vcpu", c.vcpu }, { "cpus", c.cpus } },
                      [error, finish](Result<Json> r) {
                          if (!r && !*error)
                              *error = r.release_error();
                          finish();
                      });
    }
    finish();
    return Json();
}

Result<Json> Daemon::op_vcpu_set(const Json& req)
{
    // xl vcpu-set: the guest's cpu hotplug driver brings vCPUs up or down as their nodes change.
    auto* rec = TRY(m_table.lookup(TRY(ipc::get_string(req, "dom", 256))));
    auto count = TRY(ipc::get_uint(req, "count", UINT32_MAX));
    if (count < 1 || count > rec->config.maxvcpus)
        return fail(EINVAL, "vcpu-set: domain '{}' can have 1 to {} vCPUs (maxvcpus), not {}", rec->name,
                    rec->config.maxvcpus, count);
    TRY(set_vcpu_availability(*rec, static_cast<uint32_t>(count)));
    return Json::object();
}

// xl mem-set and mem-max as libxl 4.19 does them (tools/libs/light/libxl_mem.c,
// libxl_set_memory_target and libxl_domain_setmaxmem). mem-set refuses a target above
// memory/static-max, sets the hypervisor's limit to the target (xl passes enforce=1,
// tools/xl/xl_mem.c) and then writes memory/target; mem-max refuses a limit below the target and
// changes the hypervisor's limit only: static-max, and so what a restart builds, stays. The guest's
// balloon driver follows the target; the VMM enforces the limit on the reservation.
Result<Json> Daemon::op_mem_set(uint64_t client, uint64_t id, const Json& req)
{
    auto* rec = TRY(m_table.lookup(TRY(ipc::get_string(req, "dom", 256))));
    uint64_t target = TRY(ipc::get_uint(req, "kib"));
    uint64_t static_max = TRY(read_memory_kib(*rec, "static-max"));
    if (target == 0 || target > static_max)
        return fail(EINVAL, "mem-set: domain '{}' can have 1 to {} KiB (its static maximum), not {}", rec->name,
                    static_max, target);
    return set_vmm_max_memory(client, id, *rec, target, [this, target](DomainRecord& now) -> Status {
        TRY(write_memory_kib(now, "target", target));
        // Rounded up: the config a restart builds from must never ask for less (0 MiB for a sub-MiB target).
        now.config.memory_mib = (target + 1023) / 1024;
        return {};
    });
}

Result<Json> Daemon::op_mem_max(uint64_t client, uint64_t id, const Json& req)
{
    auto* rec = TRY(m_table.lookup(TRY(ipc::get_string(req, "dom", 256))));
    uint64_t max = TRY(ipc::get_uint(req, "kib"));
    uint64_t target = TRY(read_memory_kib(*rec, "target"));
    if (max < target)
        return fail(EINVAL, "mem-max: {} KiB is below domain '{}''s target of {} KiB (lower it with mem-set first)",
                    max, rec->name, target);
    return set_vmm_max_memory(client, id, *rec, max, [](DomainRecord&) -> Status { return {}; });
}

// Asks the domain's VMM to limit its reservation to `kib`; once it has, `then` records the change
// and the client gets its answer.
Result<Json> Daemon::set_vmm_max_memory(uint64_t client, uint64_t id, DomainRecord& rec, uint64_t kib,
                                        std::function<Status(DomainRecord&)> then)
{
    VmmLink* link = rec.state == DomainState::Running ? link_of(rec) : nullptr;
    if (!link)
        return fail(EINVAL, "domain '{}' is {}", rec.name, state_name(rec.state));
    link->request(ipc::ops::kSetMaxMemory, Json { { "kib", kib } },
                  [this, client, id, domid = rec.domid, then = std::move(then)](Result<Json> r) {
                      auto* now = m_table.find(domid);
                      if (r && now)
                          if (auto done = then(*now); !done)
                              r = make_unexpected(done.release_error());
                      reply(client, id, r ? Result<Json>(Json::object()) : make_unexpected(r.release_error()));
                  });
    return Json();
}

} // namespace xkvm::toolstack

// Per-domain CPU control (issue 11): each VMM in a CPU group of its own (src/cpuctl/), with the
// domain's xl.cfg cpu_weight and cap; `xl sched-credit` reads and changes them on a running domain.
#include "ipc/ops.h"
#include "toolstack/daemon/daemon.h"

#include <unistd.h>

#include "base/log.h"

namespace xkvm::toolstack {

namespace {

using ipc::Json;

cpuctl::CpuShare share_of(const config::DomainConfig& c)
{
    return cpuctl::CpuShare { c.cpu_weight, c.cpu_cap };
}

Json sched_row(const DomainRecord& rec)
{
    return Json { { "domid", rec.domid }, { "name", rec.name }, { "weight", rec.config.cpu_weight },
                  { "cap", rec.config.cpu_cap } };
}

} // namespace

void Daemon::start_cpu_control()
{
    auto m = m_cpu.mechanism();
    // The toolstack is dom0, and its group is domain 0's: every guest's xenstore and interdomain
    // traffic waits on this one thread, so it weighs as sixteen domains, as Xen hosts commonly give dom0
    // a larger weight to keep its backends in pace.
    if (m == cpuctl::Mechanism::CgroupV1 || m == cpuctl::Mechanism::CgroupV2) {
        auto p = m_cpu.place(0, ::getpid(), cpuctl::CpuShare { kToolstackWeight, 0 });
        if (!p.problem.empty())
            log::get("xkvmd")->warn("CPU control of xkvmd itself: {}", p.problem);
    }
    if (m == cpuctl::Mechanism::CgroupV1 || m == cpuctl::Mechanism::CgroupV2)
        log::get("xkvmd")->info("CPU control: {}, one group per domain: {}<domid>", cpuctl::mechanism_name(m),
                                m_cpu.group_prefix());
    else
        log::get("xkvmd")->warn("CPU control: {} (each VMM leads a session of its own; cpu_weight and cap are "
                                "not applied): {}", cpuctl::mechanism_name(m), m_cpu.why());
}

void Daemon::stop_cpu_control()
{
    if (m_cpu.mechanism_of(0) == cpuctl::Mechanism::None)
        return;
    if (auto r = m_cpu.leave(::getpid()); !r)
        log::get("xkvmd")->warn("CPU control: leaving the toolstack's group: {}", r.error().message);
    m_cpu.remove(0);
}

void Daemon::place_vmm(const DomainRecord& rec, pid_t pid)
{
    auto p = m_cpu.place(rec.domid, pid, share_of(rec.config));
    if (!p.problem.empty())
        log::get("xkvmd")->warn("domain {} ({}): CPU control {}: {}", rec.domid, rec.name,
                                cpuctl::mechanism_name(p.mechanism), p.problem);
}

Json Daemon::cpu_json(const DomainRecord& rec) const
{
    Json j { { "mechanism", cpuctl::mechanism_name(m_cpu.mechanism_of(rec.domid)) },
             { "weight", rec.config.cpu_weight },
             { "cap", rec.config.cpu_cap } };
    auto m = m_cpu.mechanism_of(rec.domid);
    if (m == cpuctl::Mechanism::CgroupV1 || m == cpuctl::Mechanism::CgroupV2)
        j["group"] = m_cpu.group_dir(rec.domid);
    return j;
}

// xl sched-credit: without `dom`, every domain's weight and cap; with it, that domain's, changed
// first by `weight` and `cap` if given. libxl's ranges: weight 1..65535, cap 0..100 per vCPU.
Result<Json> Daemon::op_sched_credit(const Json& req)
{
    bool changes = req.contains("weight") || req.contains("cap");
    if (!req.contains("dom")) {
        if (changes)
            return fail(EINVAL, "sched-credit: a weight or cap needs a domain");
        // Domain-0 is the toolstack: xkvmd's own group, where it has one.
        uint32_t dom0 = m_cpu.mechanism_of(0) == cpuctl::Mechanism::None ? cpuctl::kDefaultWeight : kToolstackWeight;
        Json rows = Json::array({ Json { { "domid", 0 }, { "name", "Domain-0" }, { "weight", dom0 }, { "cap", 0 } } });
        for (auto* rec : m_table.all())
            rows.push_back(sched_row(*rec));
        return Json { { "domains", std::move(rows) } };
    }
    auto* rec = TRY(m_table.lookup(TRY(ipc::get_string(req, "dom", 256))));
    if (changes) {
        cpuctl::CpuShare share = share_of(rec->config);
        share.weight = static_cast<uint32_t>(TRY(ipc::opt_uint(req, "weight", share.weight, UINT32_MAX)));
        share.cap = static_cast<uint32_t>(TRY(ipc::opt_uint(req, "cap", share.cap, UINT32_MAX)));
        if (share.weight < cpuctl::kMinWeight || share.weight > cpuctl::kMaxWeight)
            return fail(EINVAL, "sched-credit: the weight must be between {} and {}, not {}", cpuctl::kMinWeight,
                        cpuctl::kMaxWeight, share.weight);
        uint32_t max_cap = config::kMaxCapPerVcpu * rec->config.maxvcpus;
        if (share.cap > max_cap)
            return fail(EINVAL, "sched-credit: the cap of domain '{}' must be between 0 and {} (100 per vCPU), not {}",
                        rec->name, max_cap, share.cap);
        if (rec->vmm_pid != 0)
            TRY(m_cpu.set(rec->domid, rec->vmm_pid, share));
        rec->config.cpu_weight = share.weight;
        rec->config.cpu_cap = share.cap;
        m_records_dirty = true; // a restart (of the domain or of us) keeps them
        log::get("xkvmd")->info("domain {} ({}): weight {}, cap {}", rec->domid, rec->name, share.weight, share.cap);
    }
    return Json { { "domains", Json::array({ sched_row(*rec) }) } };
}

} // namespace xkvm::toolstack

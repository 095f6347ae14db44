// The CLI's requests (see README.md for each operation's fields).
#include "ipc/ops.h"
#include "toolstack/daemon/daemon.h"

#include "base/log.h"
#include "config/json.h"
#include "vmm/vm_spec.h"
#include "xen/abi/sched.h"

namespace xkvm::toolstack {

namespace {

using ipc::Json;


Result<std::vector<std::vector<uint32_t>>> get_sets(const Json& j, std::string_view key, size_t max_items)
{
    std::vector<std::vector<uint32_t>> out;
    auto it = j.find(key);
    if (it == j.end())
        return out;
    if (!it->is_array() || it->size() > max_items)
        return fail(EPROTO, "ipc: field '{}' must be a list of at most {} CPU lists", key, max_items);
    for (const auto& item : *it)
        out.push_back(TRY(ipc::get_uint_list(Json { { "x", item } }, "x", kMaxHostCpuId, kMaxHostCpuId + 1)));
    return out;
}

Result<unsigned> reason_from(const std::string& s)
{
    if (s == "poweroff")
        return unsigned(SHUTDOWN_poweroff);
    if (s == "reboot")
        return unsigned(SHUTDOWN_reboot);
    return fail(EINVAL, "unknown shutdown kind '{}'", s);
}

} // namespace

void Daemon::handle_request(uint64_t client, const Json& req)
{
    auto id = ipc::get_uint(req, "id");
    auto op = ipc::get_string(req, "op", 64);
    if (!id || !op) {
        reply(client, id.value_or(0), fail(EPROTO, "malformed request"));
        return;
    }
    auto r = dispatch(Call { client, *id, *op, req });
    // A null result means the reply comes later, from a callback.
    if (!r || !r->is_null())
        reply(client, *id, std::move(r));
}

Result<Json> Daemon::dispatch(const Call& call)
{
    namespace ops = ipc::ops;
    struct Entry {
        std::string_view op;
        Result<Json> (*run)(Daemon&, const Call&);
    };
    static constexpr Entry kOps[] = {
        { ops::kPing, [](Daemon& d, const Call&) -> Result<Json> {
             return Json { { "pid", ::getpid() }, { "rundir", d.m_opts.rundir } };
         } },
        { ops::kCreate, [](Daemon& d, const Call& c) { return d.op_create(c.client, c.id, c.req); } },
        { ops::kList, [](Daemon& d, const Call& c) { return d.op_list(c.client, c.id, c.req); } },
        { ops::kDomain, [](Daemon& d, const Call& c) -> Result<Json> {
             return d.record_json(*TRY(d.m_table.lookup(TRY(ipc::get_string(c.req, "dom", 256)))));
         } },
        { ops::kPause, [](Daemon& d, const Call& c) { return d.op_forward(c); } },
        { ops::kUnpause, [](Daemon& d, const Call& c) { return d.op_forward(c); } },
        { ops::kDestroy, [](Daemon& d, const Call& c) { return d.op_destroy(c.client, c.id, c.req); } },
        { ops::kShutdown, [](Daemon& d, const Call& c) { return d.op_shutdown(c.client, c.id, c.req); } },
        { ops::kWait, [](Daemon& d, const Call& c) { return d.op_wait(c.client, c.id, c.req); } },
        { ops::kVcpuPin, [](Daemon& d, const Call& c) { return d.op_vcpu_pin(c.client, c.id, c.req); } },
        { ops::kVcpuSet, [](Daemon& d, const Call& c) { return d.op_vcpu_set(c.req); } },
        { ops::kMemSet, [](Daemon& d, const Call& c) { return d.op_mem_set(c.client, c.id, c.req); } },
        { ops::kMemMax, [](Daemon& d, const Call& c) { return d.op_mem_max(c.client, c.id, c.req); } },
        { ops::kSandboxProbe, [](Daemon& d, const Call& c) { return d.op_forward(c); } },
        { ops::kDebugKeys, [](Daemon& d, const Call& c) { return d.op_debug_keys(c.req); } },
        { ops::kSchedCredit, [](Daemon& d, const Call& c) { return d.op_sched_credit(c.req); } },
        { ops::kXenstoreRead, [](Daemon& d, const Call& c) { return d.op_xenstore(c.op, c.req); } },
        { ops::kXenstoreWrite, [](Daemon& d, const Call& c) { return d.op_xenstore(c.op, c.req); } },
        { ops::kXenstoreLs, [](Daemon& d, const Call& c) { return d.op_xenstore(c.op, c.req); } },
        { ops::kXenstoreRm, [](Daemon& d, const Call& c) { return d.op_xenstore(c.op, c.req); } },
    };
    for (const Entry& e : kOps)
        if (e.op == call.op)
            return e.run(*this, call);
    return fail(EOPNOTSUPP, "unknown operation '{}'", call.op);
}

Json Daemon::record_json(const DomainRecord& rec)
{
    Json j {
        { "domid", rec.domid },
        { "name", rec.name },
        { "uuid", uuid_string(rec.uuid) },
        { "state", state_name(rec.state) },
        { "memory_mib", rec.config.memory_mib },
        { "maxmem_mib", rec.config.maxmem_mib },
        { "vcpus", rec.config.vcpus },
        { "max_vcpus", rec.config.maxvcpus },
        { "vmm_pid", rec.vmm_pid },
        { "start_time", std::chrono::duration_cast<std::chrono::seconds>(rec.start_time.time_since_epoch()).count() },
        { "restarts", rec.restarts },
        { "config", config::to_json(rec.config) },
        { "hard", rec.hard },
        { "soft", rec.soft },
        { "nodes", rec.nodes },
        { "cpu", cpu_json(rec) },
    };
    if (rec.shutdown_reason) {
        j["shutdown_reason"] = *rec.shutdown_reason;
        j["shutdown_detail"] = rec.shutdown_detail;
    }
    return j;
}

Result<Json> Daemon::op_create(uint64_t client, uint64_t id, const Json& req)
{
    if (!req.contains("config") || !req.contains("spec"))
        return fail(EPROTO, "create: config and spec are required");
    auto cfg = config::from_json(req["config"]);
    if (!cfg)
        return fail(EINVAL, "create: {}", cfg.error().str());
    // Checked here so that a bad spec is refused before any process starts.
    auto spec_check = TRY(vmm::vm_spec_from_json(req["spec"]));
    StartRequest sr;
    sr.config = cfg.release_value();
    sr.spec = req["spec"];
    sr.paused = TRY(ipc::opt_bool(req, "paused", false));
    sr.hard = TRY(get_sets(req, "hard", spec_check.max_vcpus));
    sr.soft = TRY(get_sets(req, "soft", spec_check.max_vcpus));
    if (req.contains("nodes"))
        sr.nodes = TRY(ipc::get_uint_list(req, "nodes", 4095, 4096));
    start_domain(std::move(sr), [this, client, id](Result<Json> r) { reply(client, id, std::move(r)); });
    return Json(); // answered when the domain is built (or has been cleaned up)
}

Result<Json> Daemon::op_list(uint64_t client, uint64_t id, const Json& req)
{
    std::vector<DomainRecord*> recs;
    if (req.contains("doms")) {
        if (!req["doms"].is_array() || req["doms"].size() > 4096)
            return fail(EPROTO, "list: doms must be a list");
        for (const auto& d : req["doms"]) {
            if (!d.is_string())
                return fail(EPROTO, "list: doms must hold strings");
            recs.push_back(TRY(m_table.lookup(d.get<std::string>())));
        }
    } else {
        recs = m_table.all();
    }
    // Ask every live VMM for its status; answer when the last one has (or has timed out).
    struct Gather {
        Json domains = Json::array();
        size_t waiting = 1; // the loop below holds one until it is done
    };
    auto g = std::make_shared<Gather>();
    auto finish = [this, client, id, g] {
        if (--g->waiting == 0)
            reply(client, id, Json { { "domains", g->domains } });
    };
    for (auto* rec : recs)
        g->domains.push_back(record_json(*rec));
    for (size_t i = 0; i < recs.size(); ++i) {
        VmmLink* link = link_of(*recs[i]);
        if (!link || recs[i]->state == DomainState::Creating)
            continue;
        ++g->waiting;
        link->request(ipc::ops::kStatus, Json::object(), [g, i, finish](Result<Json> r) {
            // Only what `xkvm list` shows goes on to the client, not whatever else the VMM sent.
            if (r)
                g->domains[i]["status"] = ipc::pick_fields(*r, { "paused", "shutdown", "cpu_time_ns", "vcpus" });
            finish();
        });
    }
    finish();
    return Json();
}

Result<Json> Daemon::op_forward(const Call& c)
{
    const Json& req = c.req;
    auto* rec = TRY(m_table.lookup(TRY(ipc::get_string(req, "dom", 256))));
    if (rec->state != DomainState::Running)
        return fail(EINVAL, "domain '{}' is {}", rec->name, state_name(rec->state));
    VmmLink* link = link_of(*rec);
    if (!link)
        return fail(ESRCH, "domain '{}' has no VMM", rec->name);
    link->request(c.op, Json::object(), [this, client = c.client, id = c.id](Result<Json> r) {
        reply(client, id, r ? Result<Json>(Json::object()) : make_unexpected(r.release_error()));
    });
    return Json();
}

Result<Json> Daemon::op_destroy(uint64_t client, uint64_t id, const Json& req)
{
    auto* rec = TRY(m_table.lookup(TRY(ipc::get_string(req, "dom", 256))));
    uint32_t domid = rec->domid;
    destroy_domain(*rec);
    // Answered once the VMM process is gone too, as xl destroy returns when the domain is.
    m_waiters.push_back(Waiter { domid, "", [this, client, id, domid] {
                                    reply(client, id, Json { { "domid", domid } });
                                } });
    return Json();
}

Result<Json> Daemon::op_shutdown(uint64_t client, uint64_t id, const Json& req)
{
    auto* rec = TRY(m_table.lookup(TRY(ipc::get_string(req, "dom", 256))));
    auto kind = TRY(ipc::get_string(req, "kind", 16));
    unsigned reason = TRY(reason_from(kind));
    bool force = TRY(ipc::opt_bool(req, "force", false));
    if (rec->state != DomainState::Running)
        return fail(EINVAL, "domain '{}' is {}", rec->name, state_name(rec->state));
    std::string home = fmt::format("/local/domain/{}", rec->domid);
    auto feature = xs_call(xenstore::MsgType::Read, fmt::format("{}/control/feature-{}", home, kind) + '\0');
    if (feature && *feature == "1") {
        // What xl does: ask the guest through xenstore; it shuts itself down.
        TRY(xs_call(xenstore::MsgType::Write, fmt::format("{}/control/shutdown", home) + '\0' + kind));
        return Json { { "domid", rec->domid }, { "method", "pv" } };
    }
    if (!force)
        return fail(EOPNOTSUPP,
                    "domain '{}' does not support PV {} control (the guest never wrote control/feature-{} in "
                    "xenstore); use -F to force it, or destroy it",
                    rec->name, kind, kind);
    // -F without PV control: the VMM ends the domain as though the guest had asked for it, so
    // on_poweroff/on_reboot still decide what follows.
    VmmLink* link = link_of(*rec);
    if (!link)
        return fail(ESRCH, "domain '{}' has no VMM", rec->name);
    uint32_t domid = rec->domid;
    link->request(ipc::ops::kShutdownRequest, Json { { "reason", reason } }, [this, client, id, domid](Result<Json> r) {
        reply(client, id, r ? Result<Json>(Json { { "domid", domid }, { "method", "forced" } })
                            : make_unexpected(r.release_error()));
    });
    return Json();
}

Result<Json> Daemon::op_wait(uint64_t client, uint64_t id, const Json& req)
{
    auto dom = TRY(ipc::get_string(req, "dom", 256));
    bool by_name = TRY(ipc::opt_bool(req, "by_name", false));
    auto rec = m_table.lookup(dom);
    if (!rec)
        return Json { { "gone", true } }; // nothing to wait for
    Waiter w;
    if (by_name)
        w.name = (*rec)->name;
    else
        w.domid = (*rec)->domid;
    w.fire = [this, client, id] { reply(client, id, Json { { "gone", true } }); };
    m_waiters.push_back(std::move(w));
    return Json();
}

Result<Json> Daemon::op_debug_keys(const Json& req)
{
    // xl debug-keys: Xen's 'q' (dump domain info) also sends VIRQ_DEBUG to every vCPU of every
    // domain; that is the part a guest can see. Other keys dump hypervisor state xkvm does not have.
    auto keys = TRY(ipc::get_string(req, "keys", 64));
    if (keys.find('q') == std::string::npos)
        return Json::object();
    for (auto& [pid, link] : m_vmms)
        if (link->channel_open())
            link->request(ipc::ops::kDebugVirq, Json::object(), [](Result<Json>) { });
    return Json::object();
}

Result<Json> Daemon::op_xenstore(std::string_view op, const Json& req)
{
    auto path = TRY(ipc::get_string(req, "path", 4096));
    if (op == ipc::ops::kXenstoreRead) {
        // Read before the reply is built: a TRY that returns from inside a braced initializer
        // skips destroying what the initializer had built so far (GCC), leaking it on every error.
        auto value = TRY(xs_call(xenstore::MsgType::Read, path + '\0'));
        return Json { { "value", std::move(value) } };
    }
    if (op == ipc::ops::kXenstoreWrite) {
        auto value = TRY(ipc::get_string(req, "value", 4096));
        TRY(xs_call(xenstore::MsgType::Write, path + '\0' + value));
        return Json::object();
    }
    if (op == ipc::ops::kXenstoreLs) {
        auto raw = TRY(xs_call(xenstore::MsgType::Directory, path + '\0'));
        Json names = Json::array();
        for (auto& n : xenstore::split_strings(raw).value_or(std::vector<std::string_view> {}))
            if (!n.empty())
                names.push_back(std::string(n));
        return Json { { "children", names } };
    }
    if (op == ipc::ops::kXenstoreRm) {
        TRY(xs_call(xenstore::MsgType::Rm, path + '\0'));
        return Json::object();
    }
    return fail(EOPNOTSUPP, "unknown operation '{}'", op);
}

} // namespace xkvm::toolstack

// Fuzzes a real xkvmd (toolstack::Daemon, through DaemonTestPeer: no process, no socket of its own)
// against subverted VMMs and hostile clients. Each VMM the daemon starts is a socket pair whose far
// end this target plays: it answers the requests the daemon really has in flight (or ones it never
// made), breaks replies (JSON nested 130,000 deep, 1 MiB strings, odd ids, descriptors), sends the
// VMM's own requests and events with hostile arguments, xenstore requests of its guest, broken
// headers, and ends. xkvmd is killed and started again: the VMMs that outlive it are taken back
// and answer its adoption (or claim another domain). Clients send every op of the daemon's table with hostile arguments. Time
// passes for the loop's timers. The input format is daemon_msg_input.h's.
//
// What must hold, besides no crash and no sanitizer report: the domain table stays consistent
// (DaemonTestPeer::check_consistent: records, VMMs, names; requests in flight, forwarded requests
// and queued bytes within their caps); a VMM's frames never change another domain's record; the
// daemon's requests to a VMM carry growing ids, and it answers no more of a VMM's requests than
// were made; a client gets at most one reply per request, and, once every VMM has ended, one for
// each (a wait for a domain that stays may stay unanswered); at xenstore's memory cap a guest's
// request never adds memory; log lines per input stay within the rate limiters' bursts plus a few
// per VMM and client; nothing is left in the rundir when the daemon goes.
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "counted_log.h"
#include "daemon_msg_frames.h"
#include "daemon_msg_peers.h"
#include "daemon_msg_input.h"
#include "fuzz_input.h"
#include "toolstack/daemon/daemon_test_peer.h"
#include "vmm/vm_spec.h"
#include "xenstore/message.h"

using namespace xkvm;
using namespace xkvm::fuzz::daemon_msg;
using fuzz::check;
using fuzz::Input;
using toolstack::DaemonTestPeer;

namespace {

constexpr unsigned kMaxSteps = 128;
constexpr size_t kXenstoreCap = 64u << 10; // a few dozen guest writes reach it

struct Setup {
    std::string rundir;
    log::LogCapture* xkvmd_log;
    log::LogCapture* xenstore_log;
};

const Setup& setup()
{
    static const Setup s = [] {
        ::signal(SIGPIPE, SIG_IGN); // our ends write to sockets the daemon may have closed
        std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
        std::string tmpl = base + "/daemon_msg_fuzz-XXXXXX";
        check(::mkdtemp(tmpl.data()) != nullptr);
        static std::string dir = tmpl;
        ::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        });
        return Setup { dir, &fuzz::counted_log("xkvmd"), &fuzz::counted_log("xenstore") };
    }();
    return s;
}

// What of a record can change once it is built (the rest, config and spec, is replaced only with
// the record), cheaper to copy and compare than the record's JSON.
struct Mutable {
    std::string name;
    toolstack::DomainState state;
    std::optional<unsigned> reason;
    std::string detail;
    pid_t vmm_pid;
    unsigned restarts;
    uint64_t memory_mib;
    std::vector<std::vector<uint32_t>> hard, soft;
    std::vector<uint32_t> nodes;
    bool operator==(const Mutable&) const = default;
};

Mutable mutable_part(const toolstack::DomainRecord& r)
{
    return { r.name, r.state, r.shutdown_reason, r.shutdown_detail, r.vmm_pid, r.restarts, r.config.memory_mib,
             r.hard, r.soft, r.nodes };
}

// `act` done by VMM `v`: no other domain's record changes.
template <class F>
void as_vmm(Run& run, const Vmm& v, F&& act)
{
    std::vector<std::pair<uint32_t, Mutable>> others;
    for (auto* rec : run.peer->table().all())
        if (rec->domid != v.domid)
            others.emplace_back(rec->domid, mutable_part(*rec));
    act();
    for (auto& [domid, before] : others) {
        auto* now = run.peer->table().find(domid);
        check(now && mutable_part(*now) == before);
    }
}

void vmm_sends(Run& run, Vmm& v, ipc::Frame f)
{
    if (is_request(f))
        ++v.own_requests;
    as_vmm(run, v, [&] {
        (void)v.chan->send(std::move(f)); // a full queue drops it, as a VMM's write would block
        run.peer->serve_vmm(v.pid);
    });
}

void vmm_reply_step(Input& in, Run& run, Vmm& v)
{
    uint8_t which = in.u8();
    uint64_t id = which;
    std::string op;
    if (which < 0xf0 && !v.asked.empty()) {
        size_t i = which % v.asked.size();
        id = v.asked[i].id;
        op = v.asked[i].op;
        v.asked.erase(v.asked.begin() + static_cast<ptrdiff_t>(i));
    }
    vmm_sends(run, v, vmm_reply(in, id, op, v.domid));
}

void end_vmm(Run& run, Vmm& v, int status)
{
    v.chan.reset();
    v.ended = true;
    // An adopted VMM's end comes through its pidfd, which tells no status.
    as_vmm(run, v, [&] { run.peer->vmm_ended(v.pid, v.adopted ? -1 : status); });
}

void vmm_step(Step kind, Input& in, Run& run)
{
    Vmm* v = pick_vmm(run, in.u8(), kind == kVmmExit);
    if (!v)
        return;
    switch (kind) {
    case kVmmReply: vmm_reply_step(in, run, *v); break;
    case kVmmRequest: vmm_sends(run, *v, vmm_request(in, domains(run), v->domid, v->next_own_id)); break;
    case kVmmEvent: vmm_sends(run, *v, vmm_event(in, domains(run))); break;
    case kVmmXenstore: {
        uint32_t type = 0;
        auto f = vmm_xenstore(in, domains(run), type);
        size_t before = run.peer->store().memory_used();
        vmm_sends(run, *v, std::move(f));
        // At the cap, nothing a guest asks adds memory (a commit may still land what it holds).
        if (before >= kXenstoreCap && type != uint32_t(xenstore::MsgType::TransactionEnd))
            check(run.peer->store().memory_used() <= before);
        break;
    }
    case kVmmRaw: {
        std::string raw = in.text(in.u8());
        v->unaccounted = true;
        as_vmm(run, *v, [&] {
            // What a full socket does not take is lost, as the rest of a broken peer's bytes would be.
            (void)!::write(v->chan->fd(), raw.data(), raw.size());
            run.peer->serve_vmm(v->pid);
        });
        break;
    }
    case kVmmJunk: {
        std::string text = in.text(in.u16() % 2048);
        vmm_sends(run, *v, ipc::Frame::make(ipc::FrameKind::Json, std::move(text)));
        break;
    }
    case kVmmExit: {
        uint8_t s = in.u8();
        end_vmm(run, *v, (s & 0x80) ? (s & 0x7f) : ((s & 0x7f) << 8));
        break;
    }
    default: // kVmmHangup
        v->chan.reset();
        as_vmm(run, *v, [&] { run.peer->serve_vmm(v->pid); });
        break;
    }
}

void client_sends(Run& run, Client& c, const ipc::Json& req, bool wait)
{
    auto id = ipc::get_uint(req, "id");
    uint64_t reply_id = id ? *id : 0;
    ++c.open[reply_id];
    if (wait)
        ++c.waits[reply_id];
    check(c.chan->send(ipc::json_frame(req)).has_value());
    run.peer->serve_client(c.id);
}

void client_step(Step kind, Input& in, Run& run)
{
    Client& c = client(run, in.u8());
    if (kind == kClientRequest) {
        uint8_t op = in.u8();
        uint16_t id = in.u16();
        auto req = client_request(in, op, id, op >= 0xe0, domains(run));
        client_sends(run, c, req, op % std::size(kClientOps) == kWaitOp);
        return;
    }
    if (kind == kClientJunk) {
        uint8_t form = in.u8();
        std::string text = in.text((form & 1) ? in.u16() % 2048 : in.u8());
        ipc::Frame f = ipc::Frame::make(ipc::FrameKind::Json, std::move(text));
        if (form & 2) {
            // Raw bytes are a client's last words: what they frame is unknown.
            (void)!::write(c.chan->fd(), f.payload.data(), f.payload.size()); // as for a VMM's raw bytes
            c.chan.reset();
        } else if (auto j = ipc::parse_json(f)) {
            client_sends(run, c, *j, false);
            return;
        } else {
            (void)c.chan->send(std::move(f)); // the daemon drops a client that sends this
        }
    } else {
        c.chan.reset(); // kClientGone
    }
    run.peer->serve_client(c.id);
}

// xkvmd killed and started again. Each of our VMMs' entries was a channel to the old daemon; one
// that outlives it comes back as a new entry (pump), under the same pid. Clients were cut off.
void restart_daemon(Input& in, Run& run)
{
    uint8_t mask = in.u8();
    std::set<pid_t> alive;
    unsigned i = 0;
    for (auto& v : run.vmms) {
        if (v.ended)
            continue;
        if (mask & (1u << (i++ % 8)))
            alive.insert(v.pid);
        v.ended = true;
        v.chan.reset();
    }
    for (auto& c : run.clients)
        c.reset();
    run.readopted += static_cast<unsigned>(run.peer->table().size());
    const pid_t first_new_pid = static_cast<pid_t>(DaemonTestPeer::kFirstFakePid + run.peer->spawned_total());
    check(run.peer->crash_and_restart(alive).has_value());
    pump(run);
    // Every domain kept is run by a VMM that outlived the daemon, or by one its restart started.
    for (auto* rec : run.peer->table().all()) {
        if (!rec->vmm_pid)
            continue;
        bool found = false;
        for (auto& v : run.vmms)
            found = found || (!v.ended && v.pid == rec->vmm_pid);
        check(found && (alive.count(rec->vmm_pid) || rec->vmm_pid >= first_new_pid));
    }
}

void step(Input& in, Run& run)
{
    auto kind = static_cast<Step>(in.u8() % kStepCount);
    switch (kind) {
    case kClientRequest:
    case kClientJunk:
    case kClientGone: client_step(kind, in, run); break;
    case kTime:
        run.now += std::chrono::milliseconds(kTimeSteps[in.u8() % std::size(kTimeSteps)]);
        run.peer->run_timers(run.now);
        break;
    case kPoll: run.peer->poll(run.now); break;
    case kDaemonRestart: restart_daemon(in, run); break;
    default: vmm_step(kind, in, run); break;
    }
    pump(run);
    auto consistent = run.peer->check_consistent();
    check(consistent.has_value());
    for (auto& v : run.vmms)
        check(v.unaccounted || v.answers <= v.own_requests);
}

// Domains made before the first step: started as create starts them (without the request's JSON,
// which the create op's steps exercise), then built and unpaused by their VMMs.
void create_domains(Input& in, Run& run)
{
    static const ipc::Json kSpec = [] {
        vmm::VmSpec spec;
        spec.kernel = "/nonexistent";
        spec.memory_mib = spec.maxmem_mib = 16;
        return vmm::vm_spec_to_json(spec);
    }();
    static constexpr config::ShutdownAction kActions[] = { config::ShutdownAction::Destroy, config::ShutdownAction::Restart,
                                                           config::ShutdownAction::RenameRestart,
                                                           config::ShutdownAction::Preserve };
    unsigned n = in.u8() % 4, built = 0;
    for (unsigned i = 0; i < n; ++i) {
        uint8_t policy = in.u8();
        config::DomainConfig cfg;
        cfg.name = "n" + std::to_string(2 + 4 * i);
        cfg.type = config::DomainType::Pvh;
        cfg.kernel = "/nonexistent";
        cfg.memory_mib = cfg.maxmem_mib = 16;
        cfg.on_poweroff = kActions[policy & 3];
        cfg.on_reboot = kActions[(policy >> 2) & 3];
        cfg.on_crash = kActions[(policy >> 4) & 3];
        cfg.on_watchdog = config::ShutdownAction::CoredumpDestroy;
        run.peer->start_domain(std::move(cfg), kSpec, false, [&built](Result<ipc::Json> r) { built += r.has_value(); });
    }
    for (int round = 0; round < 3; ++round) {
        pump(run);
        for (auto& v : run.vmms) {
            for (auto& a : v.asked)
                check(v.chan->send(ipc::json_frame(ipc::ok_reply(a.id))).has_value());
            v.asked.clear();
            run.peer->serve_vmm(v.pid);
        }
    }
    pump(run);
    check(run.peer->table().size() == n && built == n);
}

// Every VMM ends (and any its domain's restart started); then everything not waiting on a domain
// that stays has been answered.
void teardown(Run& run)
{
    for (int round = 0; round < 8; ++round) {
        pump(run);
        bool any = false;
        for (auto& v : run.vmms)
            if (!v.ended) {
                end_vmm(run, v, SIGKILL);
                any = true;
            }
        if (!any)
            break;
    }
    check(run.peer->vmm_count() == 0);
    run.peer->run_timers(run.now + std::chrono::hours(1));
    pump(run);
    check(run.peer->check_consistent().has_value());
    for (auto* rec : run.peer->table().all())
        check(rec->vmm_pid == 0 && rec->state == toolstack::DomainState::Shutdown);
    for (auto& c : run.clients)
        if (c)
            for (auto& [id, n] : c->open)
                check(n <= (c->waits.count(id) ? c->waits[id] : 0));
}

} // namespace

// A smaller quarantine than ASan's 256 MiB: each input allocates and frees a few MiB, and fresh
// pages for every allocation (page faults, costly in a VM) made them most of the time spent.
// Memory freed by an input is still held back long past that input's end.
extern "C" const char* __asan_default_options()
{
    return "quarantine_size_mb=32";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const Setup& s = setup();
    uint64_t lines_before = s.xkvmd_log->lines() + s.xenstore_log->lines();
    Input in(data, size);
    Run run;
    toolstack::DaemonOptions opts;
    opts.rundir = s.rundir;
    opts.xenstore_cap_bytes = kXenstoreCap;
    auto peer = DaemonTestPeer::create(std::move(opts));
    check(peer.has_value());
    run.peer = peer.release_value();
    run.peer->set_store_clock([&run] { return run.now; });
    create_domains(in, run);
    for (unsigned steps = 0; !in.empty() && steps < kMaxSteps; ++steps)
        step(in, run);
    teardown(run);
    size_t spawned = run.peer->spawned_total();
    run.peer.reset();
    // Each limiter's burst (a window may straddle the input: twice), plus a few one-off lines per
    // VMM (killed as a protocol breaker or past its deadline, a restart that failed, a core dump not
    // made, CPU control not applied) and per client.
    // A restarted daemon: a few per domain it found a record of (a VMM gone, refusing adoption,
    // its CPU control not applied).
    uint64_t cap = 2 * RateLimiter::kDefaultBurst * 4 + 6 * spawned + 2 * run.clients_connected + 4 * run.readopted;
    check(s.xkvmd_log->lines() + s.xenstore_log->lines() - lines_before <= cap);
    // The next input's daemon starts on an empty rundir.
    check(std::filesystem::is_empty(s.rundir));
    return 0;
}

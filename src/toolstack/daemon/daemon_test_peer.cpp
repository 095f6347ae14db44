#include "toolstack/daemon/daemon_test_peer.h"

#include <poll.h>
#include <stdio.h>
#include <sys/eventfd.h>

#include "ipc/rundir.h"
#include "ipc/socket.h"
#include "toolstack/daemon/domain_record.h"

namespace xkvm::toolstack {

Result<std::unique_ptr<DaemonTestPeer>> DaemonTestPeer::create(DaemonOptions opts)
{
    std::unique_ptr<DaemonTestPeer> peer(new DaemonTestPeer());
    TRY(peer->start_daemon(std::move(opts)));
    return peer;
}

Status DaemonTestPeer::start_daemon(DaemonOptions opts)
{
    std::unique_ptr<Daemon> d(new Daemon(std::move(opts)));
    // No CPU groups: a root with no /proc or cgroup mounts under it, so that no domain's group is
    // made on the host, and none is asked to hold a pid that no process has.
    d->m_cpu = cpuctl::CpuGroups::detect(d->m_opts.rundir + "/no-host", "test-peer");
    TRY(d->open_toolstack());
    d->m_spawn_vmm = [this](uint32_t domid) { return spawn(domid); };
    if (m_store_clock)
        d->m_store.set_clock(m_store_clock);
    m_daemon = std::move(d);
    return {};
}

void DaemonTestPeer::set_store_clock(std::function<Daemon::Clock::time_point()> now)
{
    m_store_clock = std::move(now);
    m_daemon->m_store.set_clock(m_store_clock);
}

Status DaemonTestPeer::crash_and_restart(const std::set<pid_t>& alive)
{
    DaemonOptions opts = m_daemon->m_opts;
    // A killed daemon runs no destructor: its sockets close, and its domains' records stay. Ours
    // does run, so the records are kept out of its reach while it goes.
    m_daemon->m_vmms.clear();
    m_daemon->m_clients.clear();
    std::string records = ipc::domain_records_dir(opts.rundir), aside = opts.rundir + "/records-of-the-dead";
    bool had_records = ::rename(records.c_str(), aside.c_str()) == 0;
    m_daemon.reset();
    if (had_records && ::rename(aside.c_str(), records.c_str()) < 0)
        return make_unexpected(Error::from_errno("put the records back"));
    TRY(start_daemon(std::move(opts)));
    m_daemon->m_connect_vmm = [this, alive](const DomainRecord& rec) { return reconnect(rec, alive); };
    m_daemon->readopt_domains();
    return {};
}

Result<std::unique_ptr<VmmLink>> DaemonTestPeer::reconnect(const DomainRecord& rec, const std::set<pid_t>& alive)
{
    if (!alive.count(rec.vmm_pid))
        return fail(ECONNREFUSED, "nothing listens for domain {}", rec.domid);
    auto [ours, theirs] = TRY(ipc::socket_pair());
    FakeVmm vmm { rec.vmm_pid, rec.domid, TRY(ipc::Channel::create(std::move(theirs))), true };
    auto link = TRY(VmmLink::adopt(vmm.pid, rec.domid, std::move(ours)));
    // Not the daemon's child: it learns of the end through a pidfd, here one that never fires (the
    // test reports the end with vmm_ended), and that no signal can be sent through.
    UniqueFd never(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!never)
        return make_unexpected(Error::from_errno("eventfd"));
    link->set_pidfd(std::move(never));
    m_spawned.push_back(std::move(vmm));
    return link;
}

Result<std::unique_ptr<VmmLink>> DaemonTestPeer::spawn(uint32_t domid)
{
    auto [ours, theirs] = TRY(ipc::socket_pair());
    FakeVmm vmm { m_next_pid, domid, TRY(ipc::Channel::create(std::move(theirs))) };
    auto link = TRY(VmmLink::adopt(vmm.pid, domid, std::move(ours)));
    ++m_next_pid;
    m_spawned.push_back(std::move(vmm));
    return link;
}

std::vector<DaemonTestPeer::FakeVmm> DaemonTestPeer::take_spawned()
{
    return std::exchange(m_spawned, {});
}

Result<std::pair<uint64_t, UniqueFd>> DaemonTestPeer::connect_client()
{
    auto [ours, theirs] = TRY(ipc::socket_pair());
    uint64_t id = TRY(m_daemon->add_client(std::move(theirs)));
    return std::pair { id, std::move(ours) };
}

void DaemonTestPeer::start_domain(config::DomainConfig cfg, ipc::Json spec, bool paused, Daemon::Done done)
{
    Daemon::StartRequest req;
    req.config = std::move(cfg);
    req.spec = std::move(spec);
    req.paused = paused;
    m_daemon->start_domain(std::move(req), std::move(done));
}

void DaemonTestPeer::poll(Daemon::Clock::time_point now)
{
    // A deadline already past: the loop's poll does not wait.
    (void)m_daemon->poll_once(now, now - std::chrono::hours(1)); // false only for a poll(2) error, which the next call meets again
}

bool DaemonTestPeer::serve_vmm(pid_t pid)
{
    // The loop takes a VMM's budget per pass; a frame larger than that arrives over several passes,
    // and a caller that sent one means the loop's every pass until it is in (a 4 MiB frame: 1,024).
    constexpr int kMaxPasses = 1100;
    for (int pass = 0; pass < kMaxPasses; ++pass) {
        auto it = m_daemon->m_vmms.find(pid);
        if (it == m_daemon->m_vmms.end() || !it->second->channel_open())
            return pass > 0;
        m_daemon->vmm_readable(*it->second);
        auto again = m_daemon->m_vmms.find(pid);
        if (again == m_daemon->m_vmms.end() || !again->second->channel_open())
            return true;
        pollfd p { again->second->channel().fd(), POLLIN, 0 };
        if (::poll(&p, 1, 0) != 1)
            return true;
    }
    return true;
}

bool DaemonTestPeer::serve_client(uint64_t id)
{
    auto it = m_daemon->m_clients.find(id);
    if (it == m_daemon->m_clients.end())
        return false;
    m_daemon->client_readable(*it->second);
    return true;
}

void DaemonTestPeer::run_timers(Daemon::Clock::time_point now)
{
    (void)m_daemon->run_timers(now); // the next deadline: the caller decides when to come back
}

void DaemonTestPeer::vmm_ended(pid_t pid, int status)
{
    m_daemon->vmm_ended(pid, status);
}

const VmmLink* DaemonTestPeer::link(pid_t pid) const
{
    auto it = m_daemon->m_vmms.find(pid);
    return it == m_daemon->m_vmms.end() ? nullptr : it->second.get();
}

ipc::Json DaemonTestPeer::record_json(uint32_t domid)
{
    auto* rec = m_daemon->m_table.find(domid);
    return rec ? record_to_json(*rec) : ipc::Json();
}

Status DaemonTestPeer::check_consistent()
{
    Daemon& d = *m_daemon;
    std::set<pid_t> vmm_pids;
    for (auto* rec : d.m_table.all()) {
        if (d.m_table.find_name(rec->name) != rec || d.m_table.find(rec->domid) != rec)
            return fail(EPROTO, "domain {} ('{}') does not resolve to its record", rec->domid, rec->name);
        if (!rec->vmm_pid)
            continue;
        const VmmLink* l = link(rec->vmm_pid);
        if (!l || l->domid() != rec->domid)
            return fail(EPROTO, "domain {} names VMM pid {}, which is not one of its VMMs", rec->domid, rec->vmm_pid);
        if (!vmm_pids.insert(rec->vmm_pid).second)
            return fail(EPROTO, "VMM pid {} serves two domains", rec->vmm_pid);
    }
    for (auto& [pid, l] : d.m_vmms) {
        if (l->pid() != pid)
            return fail(EPROTO, "VMM pid {} is filed under {}", l->pid(), pid);
        if (l->pending() > VmmLink::kMaxPending || l->forwarded > VmmLink::kMaxForwarded
            || l->channel().queued_bytes() > VmmLink::kMaxQueuedBytes)
            return fail(EPROTO, "VMM pid {}: {} requests in flight, {} forwarded, {} bytes queued", pid, l->pending(),
                        l->forwarded, l->channel().queued_bytes());
    }
    for (auto& [id, c] : d.m_clients)
        if (c->chan->queued_bytes() > (16u << 20))
            return fail(EPROTO, "client {}: {} bytes queued", id, c->chan->queued_bytes());
    return {};
}

} // namespace xkvm::toolstack

#include "toolstack/daemon/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>

#include "base/log.h"
#include "ipc/rundir.h"
#include "ipc/socket.h"

namespace xkvm::toolstack {

namespace {

// Bytes taken from one peer per pass of the poll loop: a peer that floods is served in turn with the
// others, never ahead of them, and what it sent waits in its socket (bounded by the kernel). A
// VMM's share is small, about one xenstore message: a guest's round trip waits for whole passes,
// and each flooding VMM adds its share's parsing to every pass. In cli_neighbour_test a neighbour's
// round trips took 10-20 times as long at 256 KiB, about 5 times at 16 KiB, 2.5-3 times at 4 KiB.
constexpr size_t kClientReceiveBudget = 1u << 20;
constexpr size_t kVmmReceiveBudget = 4u << 10;

} // namespace

int Daemon::run()
{
    if (m_opts.ready_fd >= 0) {
        (void)!::write(m_opts.ready_fd, "R", 1);
        ::close(m_opts.ready_fd);
        m_opts.ready_fd = -1;
    }
    log::get("xkvmd")->info("serving {}", m_opts.rundir);
    while (!m_stop) {
        auto now = Clock::now();
        auto deadline = run_timers(now);
        bool idle = m_table.empty() && m_vmms.empty() && m_clients.empty();
        if (!idle)
            m_idle_since = now;
        else if (now - m_idle_since >= m_opts.idle_timeout)
            break;
        else if (auto until = m_idle_since + m_opts.idle_timeout; !deadline || until < *deadline)
            deadline = until;
        if (!poll_once(now, deadline))
            return 1;
    }
    log::get("xkvmd")->info("idle; exiting");
    return 0;
}

std::optional<Daemon::Clock::time_point> Daemon::run_timers(Clock::time_point now)
{
    std::optional<Clock::time_point> deadline;
    auto earlier = [&](std::optional<Clock::time_point> t) {
        if (t && (!deadline || *t < *deadline))
            deadline = t;
    };
    for (auto& [pid, link] : m_vmms) {
        if (link->kill_deadline && *link->kill_deadline <= now && !link->exited) {
            log::get("xkvmd")->warn("the VMM of domain {} (pid {}) did not exit; killing it", link->domid(), pid);
            link->kill();
            link->kill_deadline.reset();
        }
        size_t before = link->pending();
        earlier(link->expire(now));
        m_records_dirty = m_records_dirty || link->pending() != before;
    }
    if (size_t n = m_store.expire_transactions())
        log::get("xkvmd")->info("discarded {} xenstore transaction(s) open too long", n);
    earlier(m_store.next_transaction_expiry());
    // Before any waiter hears that a domain is gone, its record is gone too.
    if (m_records_dirty)
        sync_records();
    check_waiters();
    return deadline;
}

bool Daemon::poll_once(Clock::time_point now, std::optional<Clock::time_point> deadline)
{
    std::vector<pollfd> fds;
    fds.push_back({ m_listener.get(), POLLIN, 0 });
    fds.push_back({ m_signal_fd.get(), POLLIN, 0 });
    std::vector<uint64_t> client_ids;
    for (auto& [id, c] : m_clients) {
        fds.push_back({ c->chan->fd(), short(POLLIN | (c->chan->has_pending_output() ? POLLOUT : 0)), 0 });
        client_ids.push_back(id);
    }
    std::vector<pid_t> vmm_pids;
    for (auto& [pid, link] : m_vmms) {
        if (!link->channel_open())
            continue;
        fds.push_back({ link->channel().fd(), short(POLLIN | (link->channel().has_pending_output() ? POLLOUT : 0)), 0 });
        vmm_pids.push_back(pid);
    }
    size_t log_index = fds.size();
    if (m_log)
        fds.push_back({ m_log->read_fd(), POLLIN, 0 });
    // VMMs a previous daemon started: not our children, so no SIGCHLD; their pidfds say they ended.
    size_t pidfd_index = fds.size();
    std::vector<pid_t> adopted_pids;
    for (auto& [pid, link] : m_vmms)
        if (!link->our_child()) {
            fds.push_back({ link->pidfd(), POLLIN, 0 });
            adopted_pids.push_back(pid);
        }
    int timeout = -1;
    if (deadline)
        timeout = static_cast<int>(std::max<int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - now).count() + 1));
    if (::poll(fds.data(), fds.size(), timeout) < 0) {
        if (errno == EINTR)
            return true;
        log::get("xkvmd")->error("poll: {}", errno_string(errno));
        return false;
    }
    if (m_log && (fds[log_index].revents & POLLIN))
        m_log->drain();
    if (fds[1].revents & POLLIN)
        handle_signals();
    if (fds[0].revents & POLLIN)
        accept_clients();
    serve_peers(fds, client_ids, vmm_pids);
    for (size_t i = 0; i < adopted_pids.size(); ++i)
        if (fds[pidfd_index + i].revents & POLLIN)
            vmm_ended(adopted_pids[i], -1);
    if (m_records_dirty)
        sync_records();
    return true;
}

void Daemon::serve_peers(const std::vector<pollfd>& fds, const std::vector<uint64_t>& client_ids,
                         const std::vector<pid_t>& vmm_pids)
{
    // Each ready peer once per pass, up to its receive budget: none goes ahead of the others.
    size_t i = 2;
    for (uint64_t id : client_ids) {
        auto it = m_clients.find(id);
        short rev = fds[i++].revents;
        if (it == m_clients.end())
            continue;
        if (rev & POLLOUT)
            (void)it->second->chan->flush();
        if (rev & (POLLIN | POLLHUP | POLLERR))
            client_readable(*it->second);
    }
    for (pid_t pid : vmm_pids) {
        auto it = m_vmms.find(pid);
        short rev = fds[i++].revents;
        if (it == m_vmms.end() || !it->second->channel_open())
            continue;
        if (rev & POLLOUT)
            (void)it->second->channel().flush();
        if (rev & (POLLIN | POLLHUP | POLLERR))
            vmm_readable(*it->second);
    }
}

void Daemon::accept_clients()
{
    for (;;) {
        auto fd = ipc::accept_unix(m_listener.get());
        if (!fd)
            return;
        // Only this user and root may drive the daemon (the socket's mode says the same).
        if (auto peer = ipc::check_peer_uid(fd->get()); !peer) {
            if (auto dropped = m_refusals.admit())
                log::get("xkvmd")->warn("{}; refused{}", peer.error().message, suppressed_note(*dropped));
            continue;
        }
        // A descriptor that cannot become a channel is dropped: that client sees its socket close.
        (void)add_client(fd.release_value());
    }
}

Result<uint64_t> Daemon::add_client(UniqueFd fd)
{
    auto c = std::make_unique<Client>();
    c->chan = TRY(ipc::Channel::create(std::move(fd)));
    c->id = m_next_client++;
    // A client that does not read its replies is dropped rather than buffered without end.
    c->chan->set_max_queued_bytes(16 << 20);
    uint64_t id = c->id;
    m_clients.emplace(id, std::move(c));
    return id;
}

void Daemon::client_readable(Client& c)
{
    uint64_t id = c.id;
    std::vector<ipc::Frame> frames;
    auto open = c.chan->receive(frames, kClientReceiveBudget);
    for (auto& f : frames) {
        auto j = ipc::parse_json(f);
        if (!j) {
            open = make_unexpected(j.release_error());
            break;
        }
        handle_request(id, *j);
        m_records_dirty = true;
        if (!m_clients.count(id))
            return;
    }
    if (!open || !*open) {
        if (!open)
            log::get("xkvmd")->warn("client {}: {}", id, open.error().message);
        m_clients.erase(id);
    }
}

void Daemon::reply(uint64_t client, uint64_t id, Result<ipc::Json> r)
{
    auto it = m_clients.find(client);
    if (it == m_clients.end())
        return; // the client went away; nothing to tell
    auto msg = r ? ipc::ok_reply(id, r.release_value()) : ipc::error_reply(id, r.error());
    if (auto s = it->second->chan->send(ipc::json_frame(msg)); !s) {
        log::get("xkvmd")->warn("client {}: {}", client, s.error().message);
        m_clients.erase(it);
    }
}

void Daemon::vmm_readable(VmmLink& link)
{
    pid_t pid = link.pid();
    std::vector<ipc::Frame> frames;
    auto open = link.channel().receive(frames, kVmmReceiveBudget);
    for (auto& f : frames) {
        if (f.kind == ipc::FrameKind::Xenstore) {
            auto* rec = m_table.find(link.domid());
            if (rec && rec->vmm_pid == pid)
                (void)m_store.handle_bytes(link.domid(), std::span(reinterpret_cast<const uint8_t*>(f.payload.data()),
                                                                   f.payload.size()));
            continue;
        }
        // A VMM parses guest input and may be subverted: its messages are held to tighter limits.
        auto j = ipc::parse_json(f, VmmLink::kJsonLimits);
        if (!j) {
            open = make_unexpected(j.release_error());
            break;
        }
        m_records_dirty = true;
        if (!link.complete(*j, f.fds)) {
            if (j->contains("op"))
                vmm_request(link, *j, std::move(f.fds));
            else
                vmm_event(link, *j);
        }
        if (!m_vmms.count(pid))
            return;
    }
    if (!open || !*open) {
        if (!open) {
            // A VMM that breaks the protocol is not trusted with its domain any longer.
            log::get("xkvmd")->error("VMM of domain {} (pid {}): {}; killing it", link.domid(), pid, open.error().message);
            link.kill();
        }
        link.close_channel();
    }
}

void Daemon::handle_signals()
{
    signalfd_siginfo si;
    bool child = false;
    while (::read(m_signal_fd.get(), &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            child = true;
        else
            m_stop = true;
    }
    if (child)
        reap_children();
}

void Daemon::reap_children()
{
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        vmm_ended(pid, status);
    }
}

VmmLink* Daemon::link_of(const DomainRecord& rec)
{
    if (!rec.vmm_pid)
        return nullptr;
    auto it = m_vmms.find(rec.vmm_pid);
    return it == m_vmms.end() ? nullptr : it->second.get();
}

VmmLink* Daemon::live_link(uint32_t domid)
{
    for (auto& [pid, link] : m_vmms)
        if (link->domid() == domid)
            return link.get();
    return nullptr;
}

void Daemon::check_waiters()
{
    // Firing may add waiters (a reply never does, but be safe): take the list first.
    std::vector<Waiter> pending;
    pending.swap(m_waiters);
    std::vector<Waiter> keep;
    for (auto& w : pending) {
        bool present;
        if (w.domid) {
            present = m_table.find(*w.domid) || live_link(*w.domid);
        } else {
            present = m_table.find_name(w.name) != nullptr;
            for (auto& [pid, link] : m_vmms)
                present = present || link->name == w.name;
        }
        if (present)
            keep.push_back(std::move(w));
        else
            w.fire();
    }
    for (auto& w : m_waiters)
        keep.push_back(std::move(w));
    m_waiters = std::move(keep);
}

} // namespace xkvm::toolstack

// Test-only (library xkvm_daemon_testing, never linked into xkvmd): a real Daemon that starts no
// process and owns no socket, signal or lock, for unit tests and daemon_msg_fuzz. Each VMM the
// daemon would spawn is a socket pair instead: the daemon holds one end as it holds a real VMM's
// control channel, the test takes the other (take_spawned) and plays the VMM, subverted or not.
// Clients are socket pairs too. Everything the test then drives goes through the daemon's own code:
// the poll loop's serving of peers, vmm_readable and what it dispatches to (replies to requests in
// flight, the VMM's requests and events, its xenstore frames), the client op table, timers, and a
// VMM's end (as SIGCHLD reports it).
#pragma once

#include <memory>
#include <set>
#include <vector>

#include "toolstack/daemon/daemon.h"

namespace xkvm::toolstack {

class DaemonTestPeer {
public:
    // The far end of one VMM the daemon started, under a pid no process can have (above the
    // kernel's PID_MAX_LIMIT), so that the daemon's kill() and waitpid() of it reach nobody.
    struct FakeVmm {
        pid_t pid = 0;
        uint32_t domid = 0;
        std::unique_ptr<ipc::Channel> chan;
        bool adopted = false; // taken back by a restarted daemon: not its child (vmm_ended's status -1)
    };
    static constexpr pid_t kFirstFakePid = 0x7fff0000;

    // opts.rundir must exist and be ours: domain records and per-domain directories go there, as
    // in xkvmd. Nothing else of Daemon::create is done (no lock, socket, signals, CPU groups,
    // re-adoption).
    static Result<std::unique_ptr<DaemonTestPeer>> create(DaemonOptions opts);

    // VMMs spawned (or, after a restart, taken back) since the last call, oldest first.
    std::vector<FakeVmm> take_spawned();
    // xkvmd killed with SIGKILL and started again on the same rundir: the old daemon's sockets
    // close and nothing of it runs down its domains; the new one takes back what the old one last
    // recorded. Of the VMMs, those in `alive` outlived it and are handed back (take_spawned, the
    // same pids, new channels on which the new daemon asks them to accept adoption); the rest died
    // meanwhile, and their domains are handled as crashes. Clients' sockets close.
    Status crash_and_restart(const std::set<pid_t>& alive);
    size_t spawned_total() const { return m_next_pid - kFirstFakePid; }
    // A client, as accept_clients admits one: its id, and our end of its socket.
    Result<std::pair<uint64_t, UniqueFd>> connect_client();

    // Daemon::start_domain as `create` calls it, without the request's JSON: a domain for a test
    // to start from (it runs once its VMM has answered build and unpause); `done` as create's reply.
    void start_domain(config::DomainConfig cfg, ipc::Json spec, bool paused, Daemon::Done done);
    // What one pass of the poll loop does for peers that are ready (POLLIN/POLLOUT/POLLHUP),
    // without blocking; also records written since (as the loop does).
    void poll(Daemon::Clock::time_point now);
    // Daemon::vmm_readable for one VMM (pass after pass while its socket holds more: the loop reads
    // a VMM's budget per pass), or client_readable for one client (false: no such peer).
    bool serve_vmm(pid_t pid);
    bool serve_client(uint64_t id);
    // The loop's timers at `now`: expiries, kills past their deadline, records, waiters.
    void run_timers(Daemon::Clock::time_point now);
    // The clock xenstore transaction timeouts are measured on (the loop's timers take theirs).
    void set_store_clock(std::function<Daemon::Clock::time_point()> now);
    // The VMM ended with waitpid's `status` (as SIGCHLD reports it).
    void vmm_ended(pid_t pid, int status);

    Daemon& daemon() { return *m_daemon; }
    DomainTable& table() { return m_daemon->m_table; }
    const xenstore::Server& store() const { return m_daemon->m_store; }
    const VmmLink* link(pid_t pid) const;
    // What <rundir>/domains/<domid>.json would hold of a domain; null when there is none.
    ipc::Json record_json(uint32_t domid);
    size_t vmm_count() const { return m_daemon->m_vmms.size(); }
    size_t client_count() const { return m_daemon->m_clients.size(); }
    bool has_client(uint64_t id) const { return m_daemon->m_clients.count(id) != 0; }
    size_t waiter_count() const { return m_daemon->m_waiters.size(); }
    // The invariants of the table and the VMMs: every record's VMM is a link of its domain, no two
    // records share a VMM, names resolve to their records, every link and client stays within its
    // caps. EPROTO saying which broke.
    Status check_consistent();

private:
    DaemonTestPeer() = default;
    Status start_daemon(DaemonOptions opts);
    Result<std::unique_ptr<VmmLink>> spawn(uint32_t domid);
    Result<std::unique_ptr<VmmLink>> reconnect(const DomainRecord& rec, const std::set<pid_t>& alive);

    std::unique_ptr<Daemon> m_daemon;
    std::function<Daemon::Clock::time_point()> m_store_clock;
    std::vector<FakeVmm> m_spawned;
    pid_t m_next_pid = kFirstFakePid;
};

} // namespace xkvm::toolstack

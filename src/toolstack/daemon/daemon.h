// xkvmd: one per runtime directory. Owns the domain table (ids, names, state), the xenstore
// database (dom0 = the toolstack; one connection per domain, fed by that domain's VMM) and the VMM
// processes; applies on_poweroff/on_reboot/on_crash. A single-threaded poll loop: CLI clients and
// VMMs are channels; SIGCHLD and SIGTERM arrive through a signalfd. See README.md for the protocol.
#pragma once

#include <poll.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/rate_limit.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "cpuctl/cpu_groups.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "toolstack/daemon/daemon_log.h"
#include "toolstack/daemon/domain_table.h"
#include "toolstack/daemon/vmm_link.h"
#include "xenstore/server.h"

namespace xkvm::toolstack {

struct DaemonOptions {
    std::string rundir;
    std::chrono::milliseconds idle_timeout { 5000 }; // exit after this long with no domain and no client
    std::string vmm_path;                            // xkvm-vmm
    int ready_fd = -1;                               // written to (one byte) once the socket listens
    std::string log_file; // if set: stderr (ours and the VMMs') goes here, capped and rotated (daemon_log.h)
    size_t xenstore_cap_bytes = xenstore::Quota {}.max_total_bytes; // all domains' xenstore memory together
    // Each VMM in PID and mount namespaces of its own, its root emptied after the build (issue 11).
    // Needs root; off (said once in the log) where the host does not allow them.
    bool vmm_namespaces = true;
};

// The largest host CPU and NUMA node ids a client's request may name.
inline constexpr uint32_t kMaxHostCpuId = 65535;
inline constexpr uint32_t kMaxHostNodeId = 1023;

class DaemonTestPeer; // daemon_test_peer.h: tests' and fuzzers' access; not linked into xkvmd

class Daemon final : private xenstore::MessageSink {
public:
    using Done = std::function<void(Result<ipc::Json>)>;
    using Clock = std::chrono::steady_clock;

    // Takes the rundir's lock (EBUSY: another daemon has it), listens on its socket.
    static Result<std::unique_ptr<Daemon>> create(DaemonOptions opts);
    ~Daemon() override;
    // Until idle for idle_timeout, or SIGTERM/SIGINT. Returns the exit code.
    int run();

private:
    friend class DaemonTestPeer;

    // The daemon's own xenstore connection (dom0's toolstack), far above any guest's.
    static constexpr xenstore::ConnId kToolstackConn = uint64_t(1) << 40;

    struct Client {
        uint64_t id = 0;
        std::unique_ptr<ipc::Channel> chan;
    };
    // Fires once no domain matches: by id, or (when name is set) by name.
    struct Waiter {
        std::optional<uint32_t> domid;
        std::string name;
        std::function<void()> fire;
    };
    struct StartRequest {
        config::DomainConfig config;
        ipc::Json spec;
        bool paused = false;
        std::optional<std::array<uint8_t, 16>> uuid;
        std::vector<std::vector<uint32_t>> hard, soft;
        std::vector<uint32_t> nodes;
        unsigned restarts = 0;
    };

    explicit Daemon(DaemonOptions opts);
    // dom0's connection to the store, and the host's own entries in it.
    Status open_toolstack();

    // daemon.cpp: the loop
    // Kills VMMs past their kill deadline, expires requests and xenstore transactions, fires
    // waiters; returns the earliest deadline left.
    std::optional<Clock::time_point> run_timers(Clock::time_point now);
    // One poll and what it found; false on a fatal error.
    bool poll_once(Clock::time_point now, std::optional<Clock::time_point> deadline);
    void serve_peers(const std::vector<pollfd>& fds, const std::vector<uint64_t>& client_ids,
                     const std::vector<pid_t>& vmm_pids);
    void accept_clients();
    // A connected client whose credentials have been checked; its id.
    [[nodiscard]] Result<uint64_t> add_client(UniqueFd fd);
    void client_readable(Client& c);
    void vmm_readable(VmmLink& link);
    void handle_signals();
    void reap_children();
    // A VMM process ended (`status`: waitpid's, or -1 for one that was not our child).
    void vmm_ended(pid_t pid, int status);
    void check_waiters();
    void shutdown_all();
    void reply(uint64_t client, uint64_t id, Result<ipc::Json> r);
    VmmLink* link_of(const DomainRecord& rec);
    VmmLink* live_link(uint32_t domid);

    // daemon_ops.cpp: CLI requests
    void handle_request(uint64_t client, const ipc::Json& req);
    struct Call {
        uint64_t client;
        uint64_t id;
        std::string_view op;
        const ipc::Json& req;
    };
    // One table of every operation (daemon_ops.cpp); the names are ipc/ops.h's.
    Result<ipc::Json> dispatch(const Call& call);
    Result<ipc::Json> op_create(uint64_t client, uint64_t id, const ipc::Json& req);
    Result<ipc::Json> op_list(uint64_t client, uint64_t id, const ipc::Json& req);
    Result<ipc::Json> op_forward(const Call& call);
    Result<ipc::Json> op_destroy(uint64_t client, uint64_t id, const ipc::Json& req);
    Result<ipc::Json> op_shutdown(uint64_t client, uint64_t id, const ipc::Json& req);
    Result<ipc::Json> op_wait(uint64_t client, uint64_t id, const ipc::Json& req);
    Result<ipc::Json> op_vcpu_pin(uint64_t client, uint64_t id, const ipc::Json& req);
    Result<ipc::Json> op_xenstore(std::string_view op, const ipc::Json& req);
    Result<ipc::Json> op_vcpu_set(const ipc::Json& req);
    Result<ipc::Json> op_mem_set(uint64_t client, uint64_t id, const ipc::Json& req);
    Result<ipc::Json> op_mem_max(uint64_t client, uint64_t id, const ipc::Json& req);
    Result<ipc::Json> set_vmm_max_memory(uint64_t client, uint64_t id, DomainRecord& rec, uint64_t kib,
                                         std::function<Status(DomainRecord&)> then);
    Result<ipc::Json> op_debug_keys(const ipc::Json& req);
    ipc::Json record_json(const DomainRecord& rec);

    // daemon_sched.cpp: per-domain CPU groups (cpu_weight, cap) and xl sched-credit
    static constexpr uint32_t kToolstackWeight = 4096; // xkvmd's own CPU group (domain 0's): 16 domains' worth
    void start_cpu_control();
    void stop_cpu_control();
    void place_vmm(const DomainRecord& rec, pid_t pid);
    ipc::Json cpu_json(const DomainRecord& rec) const;
    Result<ipc::Json> op_sched_credit(const ipc::Json& req);

    // daemon_lifecycle.cpp: domains coming and going
    void start_domain(StartRequest req, Done done);
    void build_finished(uint32_t domid, pid_t pid, bool paused, Result<ipc::Json> r, Done done);
    void abort_domain(uint32_t domid, Error e, Done done);
    void vmm_event(VmmLink& link, const ipc::Json& ev);
    void vmm_request(VmmLink& link, const ipc::Json& req, std::vector<UniqueFd> fds);
    void guest_shutdown(DomainRecord& rec, unsigned reason, std::string detail);
    void destroy_domain(DomainRecord& rec);
    void restart_domain(DomainRecord& rec, bool rename_old);
    void vmm_exited(VmmLink& link);

    // daemon_adopt.cpp: surviving our own crash. Records in <rundir>/domains (domain_record.h)
    // kept in step with the table; at start, the domains they name are taken back.
    void sync_records();
    void readopt_domains();
    void readopt(DomainRecord rec);
    Result<std::unique_ptr<VmmLink>> connect_vmm(const DomainRecord& rec);
    void adopted(uint32_t domid, pid_t pid, Result<ipc::Json> r);
    void destroy_orphans(const std::set<uint32_t>& recorded);

    // daemon_evtchn.cpp: the event-channel broker between VMMs
    void evtchn_bind(VmmLink& from, uint64_t id, const ipc::Json& req, std::vector<UniqueFd> fds);
    void evtchn_closed(VmmLink& from, const ipc::Json& ev);
    void evtchn_domain_gone(uint32_t domid);
    VmmLink* running_link(uint32_t domid);

    // daemon_store.cpp: xenstore
    void deliver(xenstore::ConnId conn, const xenstore::Message& msg) override;
    Result<std::string> xs_call(xenstore::MsgType type, std::string payload);
    Status introduce(const DomainRecord& rec);
    // cpu/<n>/availability: the first `online` vCPUs online, the rest up to maxvcpus offline.
    Result<uint64_t> read_memory_kib(const DomainRecord& rec, std::string_view key);
    Status write_memory_kib(const DomainRecord& rec, std::string_view key, uint64_t kib);
    Status set_vcpu_availability(const DomainRecord& rec, uint32_t online);
    void forget(uint32_t domid);

    DaemonOptions m_opts;
    // Unset in xkvmd: start_domain spawns xkvm-vmm. DaemonTestPeer alone sets it, so that tests
    // and fuzzers drive a real daemon without starting any process.
    std::function<Result<std::unique_ptr<VmmLink>>(uint32_t domid)> m_spawn_vmm;
    // Unset in xkvmd: re-adoption connects to <rundir>/<domid>/control.sock. DaemonTestPeer's
    // restart sets it, to hand back the VMMs it plays.
    std::function<Result<std::unique_ptr<VmmLink>>(const DomainRecord& rec)> m_connect_vmm;
    UniqueFd m_lock_fd, m_listener, m_signal_fd;
    std::unique_ptr<DaemonLog> m_log;
    RateLimiter m_refusals;       // warnings about clients that are not allowed in
    RateLimiter m_flood_warnings; // warnings about VMMs that send more than they may
    DomainTable m_table;
    xenstore::Server m_store;
    cpuctl::CpuGroups m_cpu; // one CPU group per domain's VMM
    std::map<pid_t, std::unique_ptr<VmmLink>> m_vmms;
    std::map<uint64_t, std::unique_ptr<Client>> m_clients;
    std::vector<Waiter> m_waiters;
    std::vector<xenstore::Message> m_toolstack_inbox;
    uint64_t m_next_client = 1;
    uint32_t m_next_xs_req = 1;
    Clock::time_point m_idle_since = Clock::now();
    std::map<uint32_t, std::string> m_saved_records; // what <rundir>/domains/<domid>.json holds
    bool m_records_dirty = false;
    bool m_stop = false;
};

} // namespace xkvm::toolstack

// The VMM's side of the control channel (control.h has the protocol): one loop on the main thread
// serving the daemon's requests, the console sockets and the domain's shutdown. Internal to
// control.cpp (the loop) and control_ops.cpp (the operation table and status).
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "vmm/daemon_xenstore.h"
#include "vmm/evtchn_relay.h"
#include "vmm/machine.h"

namespace xkvm::vmm {

class ControlLoop {
public:
    // `daemon_uid`: the user of the daemon that started us; only its xkvmd may adopt us later.
    ControlLoop(std::unique_ptr<ipc::Channel> chan, uid_t daemon_uid)
        : m_chan(std::move(chan)), m_daemon_uid(daemon_uid) { }
    ~ControlLoop();
    int run();

private:
    struct Client {
        UniqueFd fd;
        std::string out;
    };

    Status build(const ipc::Json& req, uint64_t id);
    Status handle_frame(ipc::Frame& f);
    Status handle_request(const ipc::Json& req, std::vector<UniqueFd>& fds);
    struct Call {
        std::string_view op;
        const ipc::Json& req;
        std::vector<UniqueFd>& fds;
        std::vector<UniqueFd>& reply_fds;
    };
    // One table of every control operation; the names are ipc/ops.h's.
    Result<ipc::Json> dispatch(const Call& call);
    Result<ipc::Json> relay(const Call& call);
    ipc::Json status();
    void report_shutdown();
    void serve_machine_fds(const std::vector<pollfd>& fds);
    void accept_clients();
    void client_readable(Client& c);
    void distribute_console();
    void flush_client(Client& c);
    void close_consoles();
    // control_attach.cpp: outliving xkvmd. Without a daemon the domain runs on, and a restarted
    // xkvmd connects to <rundir>/<domid>/control.sock and sends `adopt`.
    Status listen_for_daemon(const std::string& rundir, uint32_t domid);
    void accept_daemon();
    void detach(std::string_view why);
    Result<ipc::Json> adopt(const Call& call);
    bool attached() const { return m_chan != nullptr; }

    void send(const ipc::Json& j, std::vector<UniqueFd> fds = {});
    void send_outgoing(std::vector<ipc::Frame> frames);

    std::unique_ptr<ipc::Channel> m_chan; // null while no daemon is attached
    uid_t m_daemon_uid;
    uint32_t m_domid = 0;
    UniqueFd m_daemon_listener;
    std::string m_control_path;
    // Declared before the machine: it delivers into the machine's event channels, so it is stopped
    // first and destroyed last.
    std::unique_ptr<EvtchnRelay> m_relay;
    std::unique_ptr<Machine> m_machine;
    std::unique_ptr<DaemonXenstore> m_xs;
    UniqueFd m_listener;
    std::string m_console_path;
    std::vector<std::unique_ptr<Client>> m_clients;
    UniqueFd m_console_wake, m_shutdown_wake;
    std::mutex m_console_lock;
    std::string m_console_pending; // written by vCPU threads, taken by the loop
    std::string m_history;         // what the loop has passed on, for clients that attach later
    std::thread m_shutdown_thread;
    std::atomic<bool> m_stop { false };
    bool m_shutdown_reported = false;
    bool m_consoles_closed = false;
    bool m_exit = false;
    int m_exit_code = 0;
};

} // namespace xkvm::vmm

// The VMM's control loop: the daemon's channel, the console sockets, shutdown reporting. The
// operations themselves are in control_ops.cpp.
#include "vmm/control.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/log.h"
#include "base/thread_role.h"
#include "hv/select.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "ipc/ops.h"
#include "ipc/rundir.h"
#include "ipc/socket.h"
#include "sandbox/sandbox.h"
#include "vmm/control_loop.h"
#include "xen/abi/sched.h"

namespace xkvm::vmm {

namespace {

using ipc::Json;
using namespace std::chrono_literals;


constexpr size_t kHistoryLimit = 1 << 20;
constexpr size_t kClientBacklogLimit = 4 << 20; // a console client that stops reading is dropped
constexpr size_t kMaxConsoleClients = 16;

void signal_fd(int fd)
{
    uint64_t one = 1;
    (void)!::write(fd, &one, sizeof(one));
}

void drain_fd(int fd)
{
    uint64_t n;
    (void)!::read(fd, &n, sizeof(n));
}

} // namespace

ControlLoop::~ControlLoop()
{
    m_stop = true;
    if (m_shutdown_thread.joinable())
        m_shutdown_thread.join();
    if (m_relay)
        m_relay->stop();
    if (m_machine) {
        m_machine->console().unsubscribe(1);
        m_machine->destroy();
    }
    if (!m_console_path.empty())
        ::unlink(m_console_path.c_str());
    if (!m_control_path.empty())
        ::unlink(m_control_path.c_str());
}

void ControlLoop::send(const Json& j, std::vector<UniqueFd> fds)
{
    if (!m_chan)
        return; // no daemon to tell; what matters is asked again by the next one (control_attach.cpp)
    ipc::Frame f = ipc::json_frame(j);
    f.fds = std::move(fds);
    if (auto r = m_chan->send(std::move(f)); !r)
        log::get("vmm")->warn("control channel: {}", r.error().message);
}

void ControlLoop::send_outgoing(std::vector<ipc::Frame> frames)
{
    if (!m_chan)
        return;
    for (auto& f : frames)
        if (auto r = m_chan->send(std::move(f)); !r)
            log::get("vmm")->warn("control channel: {}", r.error().message);
}

Status ControlLoop::build(const Json& req, uint64_t id)
{
    if (!req.contains("spec"))
        return fail(EPROTO, "build: no spec");
    auto spec = TRY(vm_spec_from_json(req["spec"]));
    auto rundir = TRY(ipc::get_string(req, "rundir", 1024));
    m_console_wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    m_shutdown_wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!m_console_wake || !m_shutdown_wake)
        return make_unexpected(Error::from_errno("eventfd"));

    // The creator's choice (the CLI's XKVM_ACCEL) wins over the daemon's environment.
    hv::Accel accel = spec.accel.empty() ? TRY(hv::accel_from_environment()) : TRY(hv::parse_accel(spec.accel));
    m_machine = TRY(Machine::create(spec, accel));
    m_xs = TRY(DaemonXenstore::create(spec.domid));
    m_machine->xenstore().set_backend(m_xs.get());
    m_relay = TRY(EvtchnRelay::create(m_machine->xen().evtchn()));
    m_machine->xen().evtchn().set_broker(m_relay.get());

    std::string dir = ipc::domain_dir(rundir, spec.domid);
    TRY(ipc::make_dirs(dir));
    m_console_path = ipc::console_socket_path(rundir, spec.domid);
    ::unlink(m_console_path.c_str());
    m_listener = TRY(ipc::listen_unix(m_console_path));
    TRY(m_machine->monitor().listen(ipc::monitor_socket_path(rundir, spec.domid)));
    m_domid = spec.domid;
    TRY(listen_for_daemon(rundir, spec.domid));

    m_history = m_machine->console().subscribe(1, [this](std::string_view bytes) {
        std::lock_guard guard(m_console_lock);
        m_console_pending.append(bytes);
        signal_fd(m_console_wake.get());
    });
    m_shutdown_thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "shutdown-wait");
        enter_thread_role(ThreadRole::Io);
        while (!m_stop) {
            if (m_machine->wait_for_shutdown(200ms)) {
                signal_fd(m_shutdown_wake.get());
                return;
            }
        }
    });

    // Every thread of the domain exists now: leave root and confine this one too.
    TRY(sandbox::lock_down({ .domid = spec.domid, .domain_dir = dir }));
    Json vcpus = Json::array();
    for (uint32_t i = 0; i < m_machine->vcpu_count(); ++i)
        vcpus.push_back(Json { { "id", i }, { "tid", m_machine->runner(i).tid() } });
    send(ipc::ok_reply(id, Json { { "pid", ::getpid() }, { "vcpus", vcpus } }));
    return {};
}

Status ControlLoop::handle_request(const Json& req, std::vector<UniqueFd>& fds)
{
    auto op = TRY(ipc::get_string(req, "op", 64));
    uint64_t id = TRY(ipc::get_uint(req, "id"));
    if (!m_machine) {
        if (op != ipc::ops::kBuild)
            return fail(EPROTO, "'{}' before build", op);
        if (auto r = build(req, id); !r) {
            send(ipc::error_reply(id, r.error()));
            m_exit = true;
            m_exit_code = 1;
        }
        return {};
    }
    std::vector<UniqueFd> reply_fds;
    auto r = dispatch(Call { op, req, fds, reply_fds });
    if (r)
        send(ipc::ok_reply(id, r.release_value()), std::move(reply_fds));
    else
        send(ipc::error_reply(id, r.error()));
    return {};
}

Status ControlLoop::handle_frame(ipc::Frame& f)
{
    if (f.kind == ipc::FrameKind::Xenstore) {
        if (!m_machine)
            return fail(EPROTO, "xenstore traffic before build");
        return m_xs->deliver(m_machine->xenstore(), f);
    }
    auto j = TRY(ipc::parse_json(f));
    // Replies to our own requests (an interdomain bind) carry no "op".
    if (!j.contains("op") && m_relay) {
        if (!m_relay->complete(j, f.fds))
            log::get("vmm")->debug("control channel: a reply nobody waits for");
        return {};
    }
    return handle_request(j, f.fds);
}

void ControlLoop::report_shutdown()
{
    drain_fd(m_shutdown_wake.get());
    if (m_shutdown_reported)
        return;
    auto info = m_machine->shutdown_info();
    if (!info || !attached())
        return; // without a daemon: told to the next one when it adopts us
    m_shutdown_reported = true;
    distribute_console(); // the last words reach the clients before the daemon decides
    send(Json { { "event", "shutdown" }, { "reason", info->reason }, { "detail", info->detail } });
}

void ControlLoop::accept_clients()
{
    for (;;) {
        auto fd = ipc::accept_unix(m_listener.get());
        if (!fd)
            return;
        if (m_consoles_closed || m_clients.size() >= kMaxConsoleClients)
            continue; // closing it tells the client the console is gone
        auto c = std::make_unique<Client>();
        c->fd = fd.release_value();
        c->out = m_history;
        flush_client(*c);
        m_clients.push_back(std::move(c));
    }
}

void ControlLoop::flush_client(Client& c)
{
    while (!c.out.empty() && c.fd) {
        ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c.fd.reset();
            return;
        }
        c.out.erase(0, static_cast<size_t>(n));
    }
}

void ControlLoop::client_readable(Client& c)
{
    char buf[4096];
    ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0)
        m_machine->console_input(std::string_view(buf, static_cast<size_t>(n)));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        c.fd.reset();
}

void ControlLoop::distribute_console()
{
    drain_fd(m_console_wake.get());
    std::string bytes;
    {
        std::lock_guard guard(m_console_lock);
        bytes.swap(m_console_pending);
    }
    if (bytes.empty())
        return;
    m_history += bytes;
    if (m_history.size() > kHistoryLimit)
        m_history.erase(0, m_history.size() - kHistoryLimit);
    for (auto& c : m_clients) {
        c->out += bytes;
        if (c->out.size() > kClientBacklogLimit)
            c->fd.reset();
        else
            flush_client(*c);
    }
}

void ControlLoop::close_consoles()
{
    distribute_console();
    m_consoles_closed = true;
    accept_clients(); // anyone already connecting still gets the whole history
    // Later attempts fail at connect and say the domain has ended, instead of waiting forever.
    m_listener.reset();
    if (!m_console_path.empty())
        ::unlink(m_console_path.c_str());
    for (auto& c : m_clients) {
        if (!c->fd)
            continue;
        // Give a slow reader a moment to take the rest; the domain is over, nothing more comes.
        auto deadline = std::chrono::steady_clock::now() + 2s;
        while (!c->out.empty() && c->fd && std::chrono::steady_clock::now() < deadline) {
            pollfd p { c->fd.get(), POLLOUT, 0 };
            ::poll(&p, 1, 100);
            flush_client(*c);
        }
        ::shutdown(c->fd.get(), SHUT_RDWR);
    }
    m_clients.clear();
}

int ControlLoop::run()
{
    while (!m_exit) {
        std::erase_if(m_clients, [](const auto& c) { return !c->fd; });
        std::vector<pollfd> fds;
        // Without a daemon the guest's xenstore requests and interdomain binds stay queued.
        int chan_fd = m_chan ? m_chan->fd() : -1;
        fds.push_back({ chan_fd, short(POLLIN | (m_chan && m_chan->has_pending_output() ? POLLOUT : 0)), 0 });
        if (m_machine) {
            fds.push_back({ m_chan ? m_xs->wake_fd() : -1, POLLIN, 0 });
            fds.push_back({ m_chan ? m_relay->wake_fd() : -1, POLLIN, 0 });
            fds.push_back({ m_console_wake.get(), POLLIN, 0 });
            fds.push_back({ m_shutdown_wake.get(), POLLIN, 0 });
            fds.push_back({ m_listener ? m_listener.get() : -1, POLLIN, 0 });
            fds.push_back({ m_daemon_listener.get(), POLLIN, 0 });
            for (auto& c : m_clients)
                fds.push_back({ c->fd.get(), short(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0 });
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR)
                continue;
            log::get("vmm")->error("poll: {}", errno_string(errno));
            return 1;
        }
        if (m_chan && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            std::vector<ipc::Frame> frames;
            auto open = m_chan->receive(frames);
            for (auto& f : frames)
                if (auto r = handle_frame(f); !r) {
                    log::get("vmm")->error("control channel: {}", r.error().message);
                    open = false;
                }
            if (!open || !*open) {
                if (!m_machine || m_exit) {
                    log::get("vmm")->info("control channel closed with no domain to keep running; exiting");
                    return m_exit_code ? m_exit_code : 0;
                }
                detach("the control channel closed");
            }
        }
        if (m_machine)
            serve_machine_fds(fds);
        if (m_chan)
            if (auto r = m_chan->flush(); !r)
                detach(r.error().message);
    }
    // Answer the last request before going.
    if (m_chan)
        (void)m_chan->flush_blocking(1s);
    if (m_machine)
        close_consoles();
    return m_exit_code;
}

void ControlLoop::serve_machine_fds(const std::vector<pollfd>& fds)
{
    if (fds[1].revents & POLLIN)
        send_outgoing(m_xs->take_outgoing(m_machine->xenstore()));
    if (fds[2].revents & POLLIN)
        send_outgoing(m_relay->take_outgoing());
    if (fds[3].revents & POLLIN)
        distribute_console();
    if (fds[4].revents & POLLIN)
        report_shutdown();
    if (fds[5].revents & POLLIN)
        accept_clients();
    if (fds[6].revents & POLLIN)
        accept_daemon();
    constexpr size_t kFirstClient = 7;
    for (size_t i = kFirstClient; i < fds.size() && i - kFirstClient < m_clients.size(); ++i) {
        Client& c = *m_clients[i - kFirstClient];
        if (fds[i].revents & POLLOUT)
            flush_client(c);
        if (c.fd && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            client_readable(c);
    }
}

int run_control_channel(int control_fd)
{
    // Our stderr is xkvmd's log pipe: once the daemon is gone, a write must fail, not kill the domain.
    ::signal(SIGPIPE, SIG_IGN);
    // The socket pair was made by the daemon: its credentials say who may adopt us later.
    auto daemon = ipc::peer_credentials(control_fd);
    auto chan = ipc::Channel::create(UniqueFd(control_fd));
    if (!daemon || !chan) {
        std::fprintf(stderr, "xkvm-vmm: %s\n", (daemon ? chan.error() : daemon.error()).message.c_str());
        return 1;
    }
    ControlLoop loop(chan.release_value(), daemon->uid);
    return loop.run();
}

} // namespace xkvm::vmm

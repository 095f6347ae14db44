#include "ipc/ops.h"
#include "vmm/evtchn_relay.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <climits>

#include "base/log.h"
#include "base/thread_role.h"
#include "ipc/notify_socket.h"
#include "xen/abi/xen.h"
#include "xen/xen_errno.h"

namespace xkvm::vmm {

namespace {

constexpr size_t kMaxQueued = 1024;
constexpr uint64_t kStopKey = UINT64_MAX;

UniqueFd new_eventfd() { return UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)); }

} // namespace

// Our guest's sends on a channel to another domain: a datagram on the far side's socket, never
// blocking (a full queue means it has notifications to read already).
class EvtchnRelay::Outbound final : public xen::Endpoint {
public:
    Outbound(EvtchnRelay& relay, UniqueFd theirs, evtchn_port_t port, domid_t remote_dom, evtchn_port_t remote_port)
        : m_relay(relay), m_theirs(std::move(theirs)), m_port(port), m_remote_dom(remote_dom), m_remote_port(remote_port)
    {
    }
    void notify() override { (void)ipc::send_notify(m_theirs.get()); }
    void disconnect() override { m_relay.local_closed(m_port, m_remote_dom, m_remote_port); }

private:
    EvtchnRelay& m_relay;
    UniqueFd m_theirs;
    evtchn_port_t m_port;
    domid_t m_remote_dom;
    evtchn_port_t m_remote_port;
};

Result<std::unique_ptr<EvtchnRelay>> EvtchnRelay::create(xen::EventChannels& ec)
{
    auto outbox = TRY(FrameQueue::create(kMaxQueued));
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    UniqueFd stop = new_eventfd();
    if (!epoll || !stop)
        return make_unexpected(Error::from_errno("evtchn relay"));
    epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.u64 = kStopKey;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, stop.get(), &ev) < 0)
        return make_unexpected(Error::from_errno("epoll_ctl"));
    std::unique_ptr<EvtchnRelay> relay(new EvtchnRelay(ec, std::move(outbox), std::move(epoll), std::move(stop)));
    relay->m_thread = std::thread([r = relay.get()] { r->run(); });
    return relay;
}

EvtchnRelay::~EvtchnRelay()
{
    stop();
}

void EvtchnRelay::stop()
{
    {
        std::lock_guard guard(m_lock);
        m_shut = true;
        m_cv.notify_all();
    }
    uint64_t one = 1;
    (void)!::write(m_stop.get(), &one, sizeof(one));
    if (m_thread.joinable())
        m_thread.join();
}

void EvtchnRelay::detach()
{
    std::lock_guard delivering(m_delivering);
    std::lock_guard guard(m_lock);
    for (auto& [port, in] : m_inbound)
        ::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, in.fd->get(), nullptr);
    m_inbound.clear();
    m_waiters.clear();
    (void)m_outbox.take(); // the old domain's requests and closes: nobody is left to answer or hear them
    m_ec = nullptr;
}

void EvtchnRelay::attach(xen::EventChannels& ec)
{
    std::lock_guard guard(m_lock);
    // Closes the old domain's endpoints sent while it went: a stale close could match a new binding.
    (void)m_outbox.take();
    m_ec = &ec;
}

void EvtchnRelay::run()
{
    pthread_setname_np(pthread_self(), "evtchn-relay");
    enter_thread_role(ThreadRole::Io);
    epoll_event events[32];
    for (;;) {
        int n = ::epoll_wait(m_epoll.get(), events, 32, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log::get("evtchn")->error("epoll_wait: {}", errno_string(errno));
            return;
        }
        for (int i = 0; i < n; ++i)
            if (events[i].data.u64 == kStopKey)
                return;
        deliver(events, n);
    }
}

void EvtchnRelay::deliver(const epoll_event* events, int n)
{
    std::lock_guard delivering(m_delivering);
    for (int i = 0; i < n; ++i) {
        // The key is our port: a closed binding is simply no longer in the table.
        auto port = static_cast<evtchn_port_t>(events[i].data.u64);
        domid_t dom;
        evtchn_port_t remote_port;
        std::shared_ptr<UniqueFd> fd;
        xen::EventChannels* ec;
        {
            std::lock_guard guard(m_lock);
            auto it = m_inbound.find(port);
            if (it == m_inbound.end() || !m_ec)
                continue;
            fd = it->second.fd;
            dom = it->second.remote_dom;
            remote_port = it->second.remote_port;
            ec = m_ec;
        }
        // The read happens outside m_lock: binds and closes on vCPU threads never wait for it.
        if (ipc::drain_notify(fd->get()) > 0)
            ec->raise_from_remote(port, dom, remote_port);
    }
}

Status EvtchnRelay::watch(evtchn_port_t port, Inbound in)
{
    std::lock_guard guard(m_lock);
    epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.u64 = port;
    if (m_inbound.count(port))
        return fail(EEXIST, "port {} already has a far side", port);
    if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, in.fd->get(), &ev) < 0)
        return make_unexpected(Error::from_errno("epoll_ctl"));
    m_inbound.emplace(port, std::move(in));
    return {};
}

void EvtchnRelay::unwatch(evtchn_port_t port)
{
    std::lock_guard guard(m_lock);
    auto it = m_inbound.find(port);
    if (it == m_inbound.end())
        return;
    ::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, it->second.fd->get(), nullptr);
    m_inbound.erase(it);
}

Result<std::shared_ptr<EvtchnRelay::Waiter>> EvtchnRelay::ask(ipc::Json req, std::vector<UniqueFd> fds)
{
    auto waiter = std::make_shared<Waiter>();
    uint64_t id;
    {
        std::lock_guard guard(m_lock);
        if (m_shut)
            return xen::xen_fail(XEN_ESRCH, "other domains are unreachable: this domain is going away");
        id = m_next_id++;
        m_waiters.emplace(id, waiter);
    }
    req["id"] = id;
    if (!m_outbox.push(ipc::Frame::make(ipc::FrameKind::Json, req.dump(), std::move(fds)))) {
        std::lock_guard guard(m_lock);
        m_waiters.erase(id);
        return xen::xen_fail(XEN_EAGAIN, "too many requests for the daemon in flight");
    }
    std::unique_lock lock(m_lock);
    bool answered = m_cv.wait_for(lock, kBindTimeout, [&] { return waiter->done || m_shut; }) && waiter->done;
    m_waiters.erase(id);
    if (!answered)
        return xen::xen_fail(XEN_EAGAIN, "the daemon did not answer in time");
    return waiter;
}

bool EvtchnRelay::domain_exists(domid_t dom)
{
    auto waiter = ask(ipc::Json { { "op", ipc::ops::kDomainExists }, { "domid", dom } }, {});
    if (!waiter || !(*waiter)->reply)
        return false;
    auto exists = ipc::get_bool(*(*waiter)->reply, "exists");
    return exists && *exists;
}

Result<std::shared_ptr<xen::Endpoint>> EvtchnRelay::bind(domid_t remote_dom, evtchn_port_t remote_port,
                                                         evtchn_port_t local_port)
{
    auto pair = ipc::make_notify_pair();
    if (!pair)
        return xen::xen_fail(XEN_ENOMEM, "no socket for an interdomain channel: {}", pair.error().message);
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(pair->send_end));
    auto asked = ask(ipc::Json { { "op", ipc::ops::kEvtchnBind }, { "remote_dom", remote_dom },
                                 { "remote_port", remote_port }, { "local_port", local_port } },
                     std::move(fds));
    if (!asked) {
        // Undo a connect that may still arrive at the far side.
        local_closed(local_port, remote_dom, remote_port);
        return make_unexpected(asked.release_error());
    }
    auto waiter = asked.release_value();
    if (!waiter->reply)
        return xen::xen_fail(waiter->reply.error().code, "bind to domain {} port {}: {}", remote_dom, remote_port,
                             waiter->reply.error().message);
    if (waiter->fds.size() != 1 || !ipc::is_notify_socket(waiter->fds[0].get())) {
        local_closed(local_port, remote_dom, remote_port);
        return xen::xen_fail(XEN_EINVAL, "domain {} answered the bind without a notification socket", remote_dom);
    }
    TRY(watch(local_port, Inbound { std::make_shared<UniqueFd>(std::move(pair->receive_end)), remote_dom, remote_port }));
    return std::shared_ptr<xen::Endpoint>(
        std::make_shared<Outbound>(*this, std::move(waiter->fds[0]), local_port, remote_dom, remote_port));
}

bool EvtchnRelay::complete(const ipc::Json& reply, std::vector<UniqueFd>& fds)
{
    auto id = ipc::get_uint(reply, "id");
    if (!id)
        return false;
    std::lock_guard guard(m_lock);
    auto it = m_waiters.find(*id);
    if (it == m_waiters.end())
        return false; // late, or not ours
    Waiter& w = *it->second;
    w.reply = ipc::reply_result(reply);
    w.fds = std::move(fds);
    w.done = true;
    m_cv.notify_all();
    return true;
}

void EvtchnRelay::local_closed(evtchn_port_t port, domid_t remote_dom, evtchn_port_t remote_port)
{
    unwatch(port);
    ipc::Json ev { { "event", "evtchn-closed" }, { "port", port }, { "remote_dom", remote_dom },
                   { "remote_port", remote_port } };
    if (!m_outbox.push(ipc::json_frame(ev)))
        log::get("evtchn")->warn("port {}: the close could not be passed on to domain {}", port, remote_dom);
}

Result<ipc::Json> EvtchnRelay::connect(xen::EventChannels& ec, const ipc::Json& req, std::vector<UniqueFd>& fds,
                                       std::vector<UniqueFd>& reply_fds)
{
    auto port = static_cast<evtchn_port_t>(TRY(ipc::get_uint(req, "port", UINT32_MAX)));
    auto dom = static_cast<domid_t>(TRY(ipc::get_uint(req, "remote_dom", DOMID_FIRST_RESERVED - 1)));
    auto remote_port = static_cast<evtchn_port_t>(TRY(ipc::get_uint(req, "remote_port", UINT32_MAX)));
    if (fds.size() != 1 || !ipc::is_notify_socket(fds[0].get()))
        return fail(EPROTO, "evtchn-connect without a notification socket");
    auto pair = TRY(ipc::make_notify_pair());
    auto out = std::make_shared<Outbound>(*this, std::move(fds[0]), port, dom, remote_port);
    TRY(ec.connect_remote(port, dom, remote_port, out));
    if (auto r = watch(port, Inbound { std::make_shared<UniqueFd>(std::move(pair.receive_end)), dom, remote_port }); !r) {
        ec.remote_closed(port, dom, remote_port);
        return make_unexpected(r.release_error());
    }
    reply_fds.push_back(std::move(pair.send_end));
    return ipc::Json::object();
}

Result<ipc::Json> EvtchnRelay::handle(std::string_view op, const ipc::Json& req, std::vector<UniqueFd>& fds,
                                      std::vector<UniqueFd>& reply_fds)
{
    xen::EventChannels* ec;
    {
        std::lock_guard guard(m_lock);
        ec = m_ec;
    }
    if (!ec)
        return fail(ESRCH, "the relay serves no domain now");
    if (op == ipc::ops::kEvtchnConnect)
        return connect(*ec, req, fds, reply_fds);
    if (op == ipc::ops::kEvtchnPeerClosed) {
        auto port = static_cast<evtchn_port_t>(TRY(ipc::get_uint(req, "port", UINT32_MAX)));
        auto dom = static_cast<domid_t>(TRY(ipc::get_uint(req, "remote_dom", DOMID_FIRST_RESERVED - 1)));
        auto remote_port = static_cast<evtchn_port_t>(TRY(ipc::get_uint(req, "remote_port", UINT32_MAX)));
        {
            std::lock_guard guard(m_lock);
            auto it = m_inbound.find(port);
            if (it == m_inbound.end() || it->second.remote_dom != dom || it->second.remote_port != remote_port)
                return ipc::Json::object(); // stale: the port has moved on
        }
        unwatch(port);
        ec->remote_closed(port, dom, remote_port);
        return ipc::Json::object();
    }
    if (op == ipc::ops::kEvtchnDomainGone) {
        auto dom = static_cast<domid_t>(TRY(ipc::get_uint(req, "domid", DOMID_FIRST_RESERVED - 1)));
        std::vector<evtchn_port_t> ports;
        {
            std::lock_guard guard(m_lock);
            for (auto& [port, in] : m_inbound)
                if (in.remote_dom == dom)
                    ports.push_back(port);
        }
        for (evtchn_port_t p : ports)
            unwatch(p);
        ec->remote_domain_gone(dom);
        return ipc::Json::object();
    }
    return fail(EOPNOTSUPP, "unknown control operation '{}'", op);
}

} // namespace xkvm::vmm

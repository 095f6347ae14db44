// Interdomain channels: loopback inside this domain, and channels to other domains through the
// broker (the far side runs in another VMM process).
#include "xen/event_channels.h"

#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

// A port on the local domain that forwards sends to another local port (interdomain loopback).
class LocalPeer final : public Endpoint {
public:
    LocalPeer(EventChannels& ec, evtchn_port_t port) : m_ec(ec), m_port(port) { }
    void notify() override { m_ec.raise(m_port); }

private:
    EventChannels& m_ec;
    evtchn_port_t m_port;
};

} // namespace

bool EventChannels::domain_exists(domid_t dom) const
{
    if (dom == DOMID_SELF || dom == m_self || dom == 0)
        return true;
    return m_broker && dom < DOMID_FIRST_RESERVED && m_broker->domain_exists(dom);
}

Result<evtchn_port_t> EventChannels::bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port)
{
    if (remote_dom == DOMID_SELF || remote_dom == m_self)
        return bind_interdomain_local(remote_port);
    // Domain 0 is the toolstack: it exists, and offers guests no port of its own to bind.
    if (remote_dom == 0)
        return xen_fail(XEN_EINVAL, "domain 0 has no unbound port {} for this domain", remote_port);
    return bind_interdomain_remote(remote_dom, remote_port);
}

Result<evtchn_port_t> EventChannels::bind_interdomain_local(evtchn_port_t remote_port)
{
    Delivery d;
    evtchn_port_t p;
    {
        std::lock_guard guard(m_lock);
        if (!valid_locked(remote_port) || m_ports[remote_port].state != State::Unbound)
            return xen_fail(XEN_EINVAL, "port {} is not an unbound port", remote_port);
        if (m_ports[remote_port].remote_dom != m_self)
            return xen_fail(XEN_EINVAL, "port {} does not accept this domain", remote_port);
        p = TRY(allocate_locked());
        Port& local = m_ports[p];
        Port& remote = m_ports[remote_port];
        local.state = remote.state = State::Interdomain;
        local.remote_dom = remote.remote_dom = m_self;
        local.remote_port = remote_port;
        remote.remote_port = p;
        local.peer = std::make_shared<LocalPeer>(*this, remote_port);
        remote.peer = std::make_shared<LocalPeer>(*this, p);
        // Sends on the unbound end were dropped; the new port starts pending so none is missed.
        d = deliver_locked(p);
    }
    finish(d);
    return p;
}

Result<evtchn_port_t> EventChannels::bind_interdomain_remote(domid_t remote_dom, evtchn_port_t remote_port)
{
    if (!m_broker)
        return xen_fail(XEN_ESRCH, "domain {} does not exist", remote_dom);
    evtchn_port_t p;
    {
        std::lock_guard guard(m_lock);
        p = TRY(allocate_locked());
        m_ports[p].state = State::Binding;
    }
    // The far side answers from another process: never wait for it holding the lock.
    auto peer = m_broker->bind(remote_dom, remote_port, p);
    Delivery d;
    {
        std::lock_guard guard(m_lock);
        if (!peer) {
            m_ports[p] = Port {};
            return make_unexpected(peer.release_error());
        }
        Port& local = m_ports[p];
        local.state = State::Interdomain;
        local.remote_dom = remote_dom;
        local.remote_port = remote_port;
        local.peer = peer.release_value();
        local.remote = true;
        d = deliver_locked(p);
    }
    finish(d);
    return p;
}

Status EventChannels::connect_remote(evtchn_port_t port, domid_t remote_dom, evtchn_port_t remote_port,
                                     std::shared_ptr<Endpoint> peer)
{
    std::lock_guard guard(m_lock);
    if (!valid_locked(port) || m_ports[port].state != State::Unbound)
        return xen_fail(XEN_EINVAL, "port {} is not an unbound port", port);
    Port& p = m_ports[port];
    if (p.remote_dom != remote_dom)
        return xen_fail(XEN_EINVAL, "port {} does not accept domain {}", port, remote_dom);
    p.state = State::Interdomain;
    p.remote_port = remote_port;
    p.peer = std::move(peer);
    p.remote = true;
    return {};
}

void EventChannels::raise_from_remote(evtchn_port_t port, domid_t remote_dom, evtchn_port_t remote_port)
{
    Delivery d;
    {
        std::lock_guard guard(m_lock);
        if (!valid_locked(port))
            return;
        const Port& p = m_ports[port];
        // A send that crossed a close (and maybe a reuse of the port) must not land on a new binding.
        if (p.state != State::Interdomain || !p.remote || p.remote_dom != remote_dom || p.remote_port != remote_port)
            return;
        d = deliver_locked(port);
    }
    finish(d);
}

void EventChannels::remote_closed(evtchn_port_t port, domid_t remote_dom, evtchn_port_t remote_port)
{
    std::shared_ptr<Endpoint> dropped;
    std::lock_guard guard(m_lock);
    if (!valid_locked(port))
        return;
    Port& p = m_ports[port];
    if (p.state != State::Interdomain || !p.remote || p.remote_dom != remote_dom || p.remote_port != remote_port)
        return;
    p.state = State::Unbound;
    p.remote_port = 0;
    p.remote = false;
    dropped = std::move(p.peer); // released after the lock: its destructor may take the broker's
}

void EventChannels::remote_domain_gone(domid_t remote_dom)
{
    std::vector<std::shared_ptr<Endpoint>> dropped;
    std::lock_guard guard(m_lock);
    for (evtchn_port_t i = 1; i < m_ports.size(); ++i) {
        Port& p = m_ports[i];
        if (p.state == State::Interdomain && p.remote && p.remote_dom == remote_dom) {
            p.state = State::Unbound;
            p.remote_port = 0;
            p.remote = false;
            dropped.push_back(std::move(p.peer));
        }
    }
}

} // namespace xkvm::xen

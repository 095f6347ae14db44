// The 2-level delivery rules: how a send becomes pending, selector and upcall bits, and how unmask
// delivers what arrived while masked. Only this file knows the bit layout.
#include "xen/event_channels.h"

#include "xen/xen_errno.h"

namespace xkvm::xen {

EventChannels::Delivery EventChannels::deliver_locked(evtchn_port_t port)
{
    Delivery d;
    uint32_t vcpu = m_ports[port].vcpu;
    if (m_shared.test_and_set_pending(port))
        return d; // already pending: the guest has not consumed the earlier event yet
    d.newly_pending = port; // pollers wake on it even while it is masked
    if (m_shared.is_masked(port))
        return d; // stays pending; EVTCHNOP_unmask delivers it
    if (m_shared.test_and_set_pending_sel(vcpu, port / m_shared.bits_per_word()))
        return d;
    if (m_shared.test_and_set_upcall_pending(vcpu))
        return d;
    d.upcall_vcpu = vcpu;
    return d;
}

void EventChannels::finish(const Delivery& d)
{
    if (d.upcall_vcpu >= 0 && m_hooks.upcall)
        m_hooks.upcall(static_cast<uint32_t>(d.upcall_vcpu));
    if (d.newly_pending && m_hooks.port_pending)
        m_hooks.port_pending(d.newly_pending);
}

Status EventChannels::send(evtchn_port_t port)
{
    std::shared_ptr<Endpoint> peer;
    Delivery d;
    {
        std::lock_guard guard(m_lock);
        if (!valid_locked(port))
            return xen_fail(XEN_EINVAL, "send: port {} is not open", port);
        Port& p = m_ports[port];
        switch (p.state) {
        case State::Interdomain:
            peer = p.peer;
            break;
        case State::Ipi:
            d = deliver_locked(port);
            break;
        case State::Unbound:
            break; // nobody listens yet: Xen drops it silently
        default:
            return xen_fail(XEN_EINVAL, "send: port {} cannot be sent on", port);
        }
    }
    finish(d);
    if (peer)
        peer->notify();
    return {};
}

void EventChannels::raise(evtchn_port_t port)
{
    Delivery d;
    {
        std::lock_guard guard(m_lock);
        if (!valid_locked(port))
            return;
        d = deliver_locked(port);
    }
    finish(d);
}

Status EventChannels::unmask(evtchn_port_t port)
{
    Delivery d;
    {
        std::lock_guard guard(m_lock);
        if (port >= port_limit())
            return xen_fail(XEN_EINVAL, "unmask: port {} out of range", port);
        // Only a bound port is unmasked (Xen leaves port 0 and closed ports alone, and succeeds).
        // An event that arrived while masked is delivered now (pollers heard of it already).
        if (valid_locked(port) && m_shared.test_and_clear_mask(port) && m_shared.is_pending(port)) {
            uint32_t vcpu = m_ports[port].vcpu;
            if (!m_shared.test_and_set_pending_sel(vcpu, port / m_shared.bits_per_word())
                && !m_shared.test_and_set_upcall_pending(vcpu))
                d.upcall_vcpu = vcpu;
        }
    }
    finish(d);
    return {};
}

Result<bool> EventChannels::poll_port(evtchn_port_t port) const
{
    std::lock_guard guard(m_lock);
    if (!valid_locked(port))
        return xen_fail(XEN_EINVAL, "poll on port {}, which is not bound", port);
    return m_shared.is_pending(port);
}

bool EventChannels::any_pending(const std::vector<evtchn_port_t>& ports) const
{
    std::lock_guard guard(m_lock);
    for (evtchn_port_t p : ports)
        if (valid_locked(p) && m_shared.is_pending(p))
            return true;
    return false;
}

} // namespace xkvm::xen

#include "xen/event_channels.h"

#include "xen/xen_errno.h"

namespace xkvm::xen {


EventChannels::EventChannels(SharedInfo& shared, domid_t self, uint32_t max_vcpus, uint32_t max_port, Hooks hooks,
                             bool emul_pin_virqs)
    : m_shared(shared), m_self(self), m_max_vcpus(max_vcpus), m_max_port(max_port), m_hooks(std::move(hooks)),
      m_emul_pin_virqs(emul_pin_virqs),
      m_ports(1), m_virqs(max_vcpus, std::vector<evtchn_port_t>(NR_VIRQS, 0))
{
}

bool EventChannels::is_global_virq(uint32_t virq)
{
    switch (virq) {
    case VIRQ_TIMER:
    case VIRQ_DEBUG:
    case VIRQ_XENOPROF:
    case VIRQ_XENPMU:
        return false;
    default:
        return true;
    }
}

uint32_t EventChannels::port_limit() const
{
    // The 2-level ABI bounds ports by the bitmap size; the toolstack may lower it (event_channels=).
    return std::min(m_max_port + 1, m_shared.max_2l_ports());
}

uint32_t EventChannels::max_port() const
{
    return port_limit() - 1;
}

bool EventChannels::valid_locked(evtchn_port_t port) const
{
    return port != 0 && port < m_ports.size() && m_ports[port].state != State::Free
        && m_ports[port].state != State::Binding;
}

Result<evtchn_port_t> EventChannels::allocate_locked()
{
    uint32_t limit = port_limit();
    for (evtchn_port_t p = 1; p < limit; ++p) {
        if (p >= m_ports.size())
            m_ports.resize(p + 1);
        if (m_ports[p].state == State::Free) {
            m_ports[p] = Port {};
            // A reused port must not deliver a stale event.
            m_shared.test_and_clear_pending(p);
            return p;
        }
    }
    return xen_fail(XEN_ENOSPC, "all {} event channel ports are in use", limit - 1);
}

Result<evtchn_port_t> EventChannels::alloc_unbound(domid_t remote_dom)
{
    std::lock_guard guard(m_lock);
    evtchn_port_t p = TRY(allocate_locked());
    m_ports[p].state = State::Unbound;
    m_ports[p].remote_dom = remote_dom == DOMID_SELF ? m_self : remote_dom;
    return p;
}

Result<evtchn_port_t> EventChannels::bind_virq(uint32_t virq, uint32_t vcpu)
{
    if (virq >= NR_VIRQS)
        return xen_fail(XEN_EINVAL, "VIRQ {} out of range", virq);
    // Without the PV event-channel extension the legacy-pin VIRQs do not exist.
    if (virq >= VIRQ_EMUL_PIN_START && !m_emul_pin_virqs)
        return xen_fail(XEN_EINVAL, "VIRQ {} (legacy pin) is not offered to this domain", virq);
    // Global VIRQs are bound on vCPU 0 and may be moved later with bind_vcpu.
    if (is_global_virq(virq) && vcpu != 0)
        return xen_fail(XEN_EINVAL, "global VIRQ {} must be bound on vcpu 0", virq);
    if (vcpu >= m_max_vcpus)
        return xen_fail(XEN_ENOENT, "vcpu {} does not exist", vcpu);
    std::lock_guard guard(m_lock);
    if (m_virqs[vcpu][virq] != 0)
        return xen_fail(XEN_EEXIST, "VIRQ {} already bound on vcpu {}", virq, vcpu);
    evtchn_port_t p = TRY(allocate_locked());
    m_ports[p].state = State::Virq;
    m_ports[p].virq = virq;
    m_ports[p].vcpu = vcpu;
    m_virqs[vcpu][virq] = p;
    return p;
}

Result<evtchn_port_t> EventChannels::bind_ipi(uint32_t vcpu)
{
    if (vcpu >= m_max_vcpus)
        return xen_fail(XEN_ENOENT, "vcpu {} does not exist", vcpu);
    std::lock_guard guard(m_lock);
    evtchn_port_t p = TRY(allocate_locked());
    m_ports[p].state = State::Ipi;
    m_ports[p].vcpu = vcpu;
    return p;
}

Result<evtchn_port_t> EventChannels::bind_backend(std::shared_ptr<Endpoint> peer, domid_t remote_dom,
                                                  evtchn_port_t remote_port)
{
    std::lock_guard guard(m_lock);
    evtchn_port_t p = TRY(allocate_locked());
    m_ports[p].state = State::Interdomain;
    m_ports[p].remote_dom = remote_dom;
    m_ports[p].remote_port = remote_port;
    m_ports[p].peer = std::move(peer);
    return p;
}

void EventChannels::close_locked(evtchn_port_t port, std::vector<std::shared_ptr<Endpoint>>& disconnected)
{
    Port& p = m_ports[port];
    switch (p.state) {
    case State::Virq:
        if (m_virqs[virq_table_vcpu(p)][p.virq] == port)
            m_virqs[virq_table_vcpu(p)][p.virq] = 0;
        break;
    case State::Interdomain:
        // A loopback peer goes back to unbound, waiting for a new partner, as Xen does.
        if (!p.remote && p.remote_dom == m_self && valid_locked(p.remote_port)
            && m_ports[p.remote_port].remote_port == port) {
            Port& other = m_ports[p.remote_port];
            other.state = State::Unbound;
            other.remote_port = 0;
            other.peer.reset();
        } else if (p.peer) {
            disconnected.push_back(p.peer);
        }
        break;
    default:
        break;
    }
    p = Port {};
}

Status EventChannels::close(evtchn_port_t port)
{
    std::vector<std::shared_ptr<Endpoint>> disconnected;
    {
        std::lock_guard guard(m_lock);
        if (!valid_locked(port))
            return xen_fail(XEN_EINVAL, "close: port {} is not open", port);
        close_locked(port, disconnected);
    }
    for (auto& e : disconnected)
        e->disconnect();
    return {};
}

Status EventChannels::reset()
{
    std::vector<std::shared_ptr<Endpoint>> disconnected;
    {
        std::lock_guard guard(m_lock);
        for (evtchn_port_t p = 1; p < m_ports.size(); ++p)
            if (valid_locked(p))
                close_locked(p, disconnected);
    }
    for (auto& e : disconnected)
        e->disconnect();
    return {};
}

void EventChannels::raise_virq(uint32_t virq, uint32_t vcpu)
{
    if (virq >= NR_VIRQS)
        return;
    evtchn_port_t port = 0;
    {
        std::lock_guard guard(m_lock);
        if (is_global_virq(virq))
            port = m_virqs[0][virq];
        else if (vcpu < m_max_vcpus)
            port = m_virqs[vcpu][virq];
    }
    if (port)
        raise(port);
}

evtchn_port_t EventChannels::virq_port(uint32_t virq, uint32_t vcpu) const
{
    std::lock_guard guard(m_lock);
    if (virq >= NR_VIRQS || vcpu >= m_max_vcpus)
        return 0;
    return m_virqs[is_global_virq(virq) ? 0 : vcpu][virq];
}

bool EventChannels::global_virq_bound(uint32_t virq) const
{
    std::lock_guard guard(m_lock);
    return virq < NR_VIRQS && is_global_virq(virq) && m_virqs[0][virq] != 0;
}

Result<evtchn_status> EventChannels::status(evtchn_port_t port) const
{
    std::lock_guard guard(m_lock);
    evtchn_status st {};
    st.dom = DOMID_SELF;
    st.port = port;
    if (port >= port_limit())
        return xen_fail(XEN_EINVAL, "status: port {} out of range", port); // port 0 reads closed
    if (!valid_locked(port)) {
        st.status = EVTCHNSTAT_closed;
        return st;
    }
    const Port& p = m_ports[port];
    st.vcpu = p.vcpu;
    switch (p.state) {
    case State::Unbound:
        st.status = EVTCHNSTAT_unbound;
        st.u.unbound.dom = p.remote_dom;
        break;
    case State::Interdomain:
        st.status = EVTCHNSTAT_interdomain;
        st.u.interdomain.dom = p.remote_dom;
        st.u.interdomain.port = p.remote_port;
        break;
    case State::Virq:
        st.status = EVTCHNSTAT_virq;
        st.u.virq = p.virq;
        break;
    case State::Ipi:
        st.status = EVTCHNSTAT_ipi;
        break;
    case State::Free:
    case State::Binding:
        st.status = EVTCHNSTAT_closed;
        break;
    }
    return st;
}

Status EventChannels::bind_vcpu(evtchn_port_t port, uint32_t vcpu)
{
    if (vcpu >= m_max_vcpus)
        return xen_fail(XEN_ENOENT, "bind_vcpu: vcpu {} does not exist", vcpu);
    std::lock_guard guard(m_lock);
    if (!valid_locked(port))
        return xen_fail(XEN_EINVAL, "bind_vcpu: port {} is not open", port);
    Port& p = m_ports[port];
    // Per-vCPU VIRQs and IPIs stay where they were bound; a global VIRQ's binding stays in vCPU 0's
    // table and only its delivery moves.
    if ((p.state == State::Virq && !is_global_virq(p.virq)) || p.state == State::Ipi)
        return xen_fail(XEN_EINVAL, "bind_vcpu: port {} is tied to its vcpu", port);
    p.vcpu = vcpu;
    return {};
}

uint32_t EventChannels::notify_vcpu(evtchn_port_t port) const
{
    std::lock_guard guard(m_lock);
    return valid_locked(port) ? m_ports[port].vcpu : 0;
}

size_t EventChannels::open_ports() const
{
    std::lock_guard guard(m_lock);
    size_t n = 0;
    for (const auto& p : m_ports)
        n += p.state != State::Free;
    return n;
}

} // namespace xkvm::xen

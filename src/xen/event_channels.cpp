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

EventChannels::EventChannels(SharedInfo& shared, domid_t self, uint32_t max_vcpus, uint32_t max_port,
                             std::function<void(uint32_t)> upcall, bool emul_pin_virqs)
    : m_shared(shared), m_self(self), m_max_vcpus(max_vcpus), m_max_port(max_port), m_upcall(std::move(upcall)),
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
    return port != 0 && port < m_ports.size() && m_ports[port].state != State::Free;
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

Result<evtchn_port_t> EventChannels::bind_interdomain_local(evtchn_port_t remote_port)
{
    std::lock_guard guard(m_lock);
    if (!valid_locked(remote_port) || m_ports[remote_port].state != State::Unbound)
        return xen_fail(XEN_EINVAL, "port {} is not an unbound port", remote_port);
    if (m_ports[remote_port].remote_dom != m_self)
        return xen_fail(XEN_EINVAL, "port {} does not accept this domain", remote_port);
    evtchn_port_t p = TRY(allocate_locked());
    Port& local = m_ports[p];
    Port& remote = m_ports[remote_port];
    local.state = remote.state = State::Interdomain;
    local.remote_dom = remote.remote_dom = m_self;
    local.remote_port = remote_port;
    remote.remote_port = p;
    local.peer = std::make_shared<LocalPeer>(*this, remote_port);
    remote.peer = std::make_shared<LocalPeer>(*this, p);
    return p;
}

Result<evtchn_port_t> EventChannels::bind_virq(uint32_t virq, uint32_t vcpu)
{
    if (virq >= NR_VIRQS)
        return xen_fail(XEN_EINVAL, "VIRQ {} out of range", virq);
    // Without the PV event-channel extension the legacy-pin VIRQs do not exist.
    if (virq >= VIRQ_EMUL_PIN_START && !m_emul_pin_virqs)
        return xen_fail(XEN_EINVAL, "VIRQ {} (legacy pin) is not offered to this domain", virq);
    if (vcpu >= m_max_vcpus)
        return xen_fail(XEN_ENOENT, "vcpu {} does not exist", vcpu);
    // Global VIRQs are bound on vCPU 0 first and may be moved later with bind_vcpu.
    if (is_global_virq(virq) && vcpu != 0)
        return xen_fail(XEN_EINVAL, "global VIRQ {} must be bound on vcpu 0", virq);
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
        if (p.vcpu < m_max_vcpus && m_virqs[p.vcpu][p.virq] == port)
            m_virqs[p.vcpu][p.virq] = 0;
        break;
    case State::Interdomain:
        // A loopback peer goes back to unbound, waiting for a new partner, as Xen does.
        if (p.remote_dom == m_self && valid_locked(p.remote_port) && m_ports[p.remote_port].remote_port == port) {
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
            if (m_ports[p].state != State::Free)
                close_locked(p, disconnected);
    }
    for (auto& e : disconnected)
        e->disconnect();
    return {};
}

int64_t EventChannels::deliver_locked(evtchn_port_t port)
{
    uint32_t vcpu = m_ports[port].vcpu;
    if (m_shared.test_and_set_pending(port))
        return -1; // already pending: the guest has not consumed the earlier event yet
    if (m_shared.is_masked(port))
        return -1; // stays pending; EVTCHNOP_unmask delivers it
    if (m_shared.test_and_set_pending_sel(vcpu, port / m_shared.bits_per_word()))
        return -1;
    if (m_shared.test_and_set_upcall_pending(vcpu))
        return -1;
    return vcpu;
}

Status EventChannels::send(evtchn_port_t port)
{
    std::shared_ptr<Endpoint> peer;
    int64_t upcall = -1;
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
            upcall = deliver_locked(port);
            break;
        case State::Unbound:
            break; // nobody listens yet: Xen drops it silently
        default:
            return xen_fail(XEN_EINVAL, "send: port {} cannot be sent on", port);
        }
    }
    if (upcall >= 0)
        m_upcall(static_cast<uint32_t>(upcall));
    if (peer)
        peer->notify();
    return {};
}

void EventChannels::raise(evtchn_port_t port)
{
    int64_t upcall;
    {
        std::lock_guard guard(m_lock);
        if (!valid_locked(port))
            return;
        upcall = deliver_locked(port);
    }
    if (upcall >= 0)
        m_upcall(static_cast<uint32_t>(upcall));
}

void EventChannels::raise_virq(uint32_t virq, uint32_t vcpu)
{
    if (virq >= NR_VIRQS)
        return;
    evtchn_port_t port = 0;
    {
        std::lock_guard guard(m_lock);
        if (is_global_virq(virq)) {
            for (uint32_t v = 0; v < m_max_vcpus && !port; ++v)
                port = m_virqs[v][virq];
        } else if (vcpu < m_max_vcpus) {
            port = m_virqs[vcpu][virq];
        }
    }
    if (port)
        raise(port);
}

evtchn_port_t EventChannels::virq_port(uint32_t virq, uint32_t vcpu) const
{
    std::lock_guard guard(m_lock);
    return virq < NR_VIRQS && vcpu < m_max_vcpus ? m_virqs[vcpu][virq] : 0;
}

bool EventChannels::global_virq_bound(uint32_t virq) const
{
    std::lock_guard guard(m_lock);
    if (virq >= NR_VIRQS)
        return false;
    for (uint32_t v = 0; v < m_max_vcpus; ++v)
        if (m_virqs[v][virq])
            return true;
    return false;
}

Result<evtchn_status> EventChannels::status(evtchn_port_t port) const
{
    std::lock_guard guard(m_lock);
    evtchn_status st {};
    st.dom = DOMID_SELF;
    st.port = port;
    if (port == 0 || port >= port_limit())
        return xen_fail(XEN_EINVAL, "status: port {} out of range", port);
    if (port >= m_ports.size() || m_ports[port].state == State::Free) {
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
    // Per-vCPU VIRQs and IPIs stay where they were bound.
    if ((p.state == State::Virq && !is_global_virq(p.virq)) || p.state == State::Ipi)
        return xen_fail(XEN_EINVAL, "bind_vcpu: port {} is tied to its vcpu", port);
    if (p.state == State::Virq) {
        m_virqs[p.vcpu][p.virq] = 0;
        m_virqs[vcpu][p.virq] = port;
    }
    p.vcpu = vcpu;
    return {};
}

Status EventChannels::unmask(evtchn_port_t port)
{
    int64_t upcall = -1;
    {
        std::lock_guard guard(m_lock);
        if (port == 0 || port >= port_limit())
            return xen_fail(XEN_EINVAL, "unmask: port {} out of range", port);
        m_shared.clear_mask(port);
        // An event that arrived while masked is delivered now.
        if (valid_locked(port) && m_shared.is_pending(port)) {
            uint32_t vcpu = m_ports[port].vcpu;
            if (!m_shared.test_and_set_pending_sel(vcpu, port / m_shared.bits_per_word())
                && !m_shared.test_and_set_upcall_pending(vcpu))
                upcall = vcpu;
        }
    }
    if (upcall >= 0)
        m_upcall(static_cast<uint32_t>(upcall));
    return {};
}

bool EventChannels::any_pending(const std::vector<evtchn_port_t>& ports) const
{
    std::lock_guard guard(m_lock);
    for (evtchn_port_t p : ports)
        if (valid_locked(p) && m_shared.is_pending(p))
            return true;
    return false;
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

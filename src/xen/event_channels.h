// One domain's event channel ports and the 2-level delivery rules (pending, mask, selector, upcall).
//
// The port table is kept apart from the delivery bits so a FIFO ABI can replace the 2-level one
// without touching binding logic: only deliver_locked()/unmask() know the bit layout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/result.h"
#include "xen/abi/event_channel.h"
#include "xen/shared_info.h"

namespace xkvm::xen {

// The far side of an interdomain channel, as seen from this domain: a backend inside this VMM
// (PV console, xenstore), a port of the same domain, or another domain's VMM.
class Endpoint {
public:
    virtual ~Endpoint() = default;
    virtual void notify() = 0; // our guest sent on the channel
    virtual void disconnect() { } // our guest closed its end
};

// Reaches other domains (each runs in its own VMM process). The VMM provides one when a toolstack
// daemon connects the domains; without it, other domains do not exist as far as the guest can tell.
class InterdomainBroker {
public:
    virtual ~InterdomainBroker() = default;
    // Asks `remote_dom` to bind its unbound `remote_port` (which must name this domain) to our
    // `local_port`. Blocks until the far side answers; Xen's errors (ESRCH, EINVAL) on refusal.
    // The endpoint carries our sends there, and its disconnect() tells the far side we closed.
    virtual Result<std::shared_ptr<Endpoint>> bind(domid_t remote_dom, evtchn_port_t remote_port,
                                                   evtchn_port_t local_port) = 0;
    // Whether domain `dom` exists (Xen answers ESRCH for one that does not, EPERM for another's).
    virtual bool domain_exists(domid_t dom) = 0;
};

class EventChannels {
public:
    struct Hooks {
        // A vCPU's evtchn_upcall_pending went 0 -> 1: deliver the upcall. Called outside the lock.
        std::function<void(uint32_t vcpu)> upcall;
        // A port's pending bit went 0 -> 1, masked or not (SCHEDOP_poll waiters). Outside the lock.
        std::function<void(evtchn_port_t port)> port_pending;
    };

    // `emul_pin_virqs`: the guest was offered the legacy-pin VIRQs (CPUID leaf 2 EDX evtchn bit).
    EventChannels(SharedInfo& shared, domid_t self, uint32_t max_vcpus, uint32_t max_port, Hooks hooks,
                  bool emul_pin_virqs = false);

    // Set before the guest runs; null means no other domain is reachable.
    void set_broker(InterdomainBroker* broker) { m_broker = broker; }
    // This domain and domain 0 (the toolstack) always exist; others if the broker says so.
    bool domain_exists(domid_t dom) const;

    // Guest operations (EVTCHNOP_*): arguments already copied in; every value validated here.
    Result<evtchn_port_t> alloc_unbound(domid_t remote_dom);
    Result<evtchn_port_t> bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port);
    Result<evtchn_port_t> bind_virq(uint32_t virq, uint32_t vcpu);
    Result<evtchn_port_t> bind_ipi(uint32_t vcpu);
    Status close(evtchn_port_t port);
    Status send(evtchn_port_t port);
    Result<evtchn_status> status(evtchn_port_t port) const;
    Status bind_vcpu(evtchn_port_t port, uint32_t vcpu);
    Status unmask(evtchn_port_t port);
    Status reset();

    // Host side: an interdomain port whose far end is `peer` (remote_dom/remote_port as reported by
    // EVTCHNOP_status). Used by the toolstack-created console and xenstore channels.
    Result<evtchn_port_t> bind_backend(std::shared_ptr<Endpoint> peer, domid_t remote_dom, evtchn_port_t remote_port);

    // The far side of the broker. `remote_dom` binds to our unbound `port`: it must be unbound and
    // name that domain (EINVAL otherwise).
    Status connect_remote(evtchn_port_t port, domid_t remote_dom, evtchn_port_t remote_port,
                          std::shared_ptr<Endpoint> peer);
    // remote_dom sent on its end of our `port`; ignored unless `port` is still bound to exactly it.
    void raise_from_remote(evtchn_port_t port, domid_t remote_dom, evtchn_port_t remote_port);
    // remote_dom closed its end: our `port` goes back to waiting for it, as on Xen.
    void remote_closed(evtchn_port_t port, domid_t remote_dom, evtchn_port_t remote_port);
    // remote_dom is gone: every port bound to it goes back to unbound.
    void remote_domain_gone(domid_t remote_dom);

    // Deliver an event to our guest on `port` (from a backend, a peer, a timer...).
    void raise(evtchn_port_t port);
    // Deliver a VIRQ bound on `vcpu` (global VIRQs: pass 0, they follow their binding).
    void raise_virq(uint32_t virq, uint32_t vcpu = 0);
    // The port a VIRQ is bound to on `vcpu` (global VIRQs: vCPU 0's table), 0 if none.
    evtchn_port_t virq_port(uint32_t virq, uint32_t vcpu) const;
    // Is a global VIRQ bound?
    bool global_virq_bound(uint32_t virq) const;

    // Are any of these ports pending (SCHEDOP_poll)? Invalid ports count as not pending.
    bool any_pending(const std::vector<evtchn_port_t>& ports) const;
    // SCHEDOP_poll's view of one port: EINVAL unless bound (port 0 never is), else whether pending.
    Result<bool> poll_port(evtchn_port_t port) const;
    uint32_t notify_vcpu(evtchn_port_t port) const;
    uint32_t max_port() const;
    size_t open_ports() const;

    static bool is_global_virq(uint32_t virq);

private:
    // Binding: reserved while the broker asks another domain; invisible to the guest's operations.
    enum class State : uint8_t { Free, Unbound, Interdomain, Virq, Ipi, Binding };
    struct Port {
        State state = State::Free;
        uint32_t vcpu = 0;
        domid_t remote_dom = 0;
        evtchn_port_t remote_port = 0;
        uint32_t virq = 0;
        std::shared_ptr<Endpoint> peer;
        bool remote = false; // peer is another domain's VMM (through the broker)
    };
    // What a delivery needs done once the lock is released.
    struct Delivery {
        int64_t upcall_vcpu = -1;
        evtchn_port_t newly_pending = 0;
    };

    Result<evtchn_port_t> allocate_locked();
    bool valid_locked(evtchn_port_t port) const;
    Result<evtchn_port_t> bind_interdomain_local(evtchn_port_t remote_port);
    Result<evtchn_port_t> bind_interdomain_remote(domid_t remote_dom, evtchn_port_t remote_port);
    // Sets pending and, when the port is unmasked, the selector and upcall bits.
    Delivery deliver_locked(evtchn_port_t port);
    void finish(const Delivery& d);
    void close_locked(evtchn_port_t port, std::vector<std::shared_ptr<Endpoint>>& disconnected);
    uint32_t virq_table_vcpu(const Port& p) const { return is_global_virq(p.virq) ? 0 : p.vcpu; }
    uint32_t port_limit() const;

    SharedInfo& m_shared;
    domid_t m_self;
    uint32_t m_max_vcpus;
    uint32_t m_max_port;
    Hooks m_hooks;
    bool m_emul_pin_virqs;
    InterdomainBroker* m_broker = nullptr;

    mutable std::mutex m_lock;
    std::vector<Port> m_ports;                       // index = port number; port 0 is never used
    // [vcpu][virq] -> port. Global VIRQs always live in vCPU 0's row (their port says where they
    // are delivered), so a second binding is refused wherever the first one was moved.
    std::vector<std::vector<evtchn_port_t>> m_virqs;
};

} // namespace xkvm::xen

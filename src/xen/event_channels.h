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

class EventChannels {
public:
    // `upcall(vcpu)` is called, outside the lock, when a vCPU's evtchn_upcall_pending went 0 -> 1.
    // `emul_pin_virqs`: the guest was offered the legacy-pin VIRQs (CPUID leaf 2 EDX evtchn bit).
    EventChannels(SharedInfo& shared, domid_t self, uint32_t max_vcpus, uint32_t max_port,
                  std::function<void(uint32_t vcpu)> upcall, bool emul_pin_virqs = false);

    // Guest operations (EVTCHNOP_*): arguments already copied in; every value validated here.
    Result<evtchn_port_t> alloc_unbound(domid_t remote_dom);
    Result<evtchn_port_t> bind_interdomain_local(evtchn_port_t remote_port);
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

    // Deliver an event to our guest on `port` (from a backend, a peer, a timer...).
    void raise(evtchn_port_t port);
    // Deliver a VIRQ bound on `vcpu` (global VIRQs: pass 0, they follow their binding).
    void raise_virq(uint32_t virq, uint32_t vcpu = 0);
    // The port a VIRQ is bound to on `vcpu`, 0 if none.
    evtchn_port_t virq_port(uint32_t virq, uint32_t vcpu) const;
    // Is a global VIRQ bound anywhere?
    bool global_virq_bound(uint32_t virq) const;

    // Are any of these ports pending (SCHEDOP_poll)? Invalid ports count as not pending.
    bool any_pending(const std::vector<evtchn_port_t>& ports) const;
    uint32_t notify_vcpu(evtchn_port_t port) const;
    uint32_t max_port() const;
    size_t open_ports() const;

    static bool is_global_virq(uint32_t virq);

private:
    enum class State : uint8_t { Free, Unbound, Interdomain, Virq, Ipi };
    struct Port {
        State state = State::Free;
        uint32_t vcpu = 0;
        domid_t remote_dom = 0;
        evtchn_port_t remote_port = 0;
        uint32_t virq = 0;
        std::shared_ptr<Endpoint> peer;
    };

    Result<evtchn_port_t> allocate_locked();
    bool valid_locked(evtchn_port_t port) const;
    // Sets pending and, when the port is unmasked, the selector and upcall bits. Returns the vCPU
    // that needs an upcall, or -1.
    int64_t deliver_locked(evtchn_port_t port);
    void close_locked(evtchn_port_t port, std::vector<std::shared_ptr<Endpoint>>& disconnected);
    uint32_t port_limit() const;

    SharedInfo& m_shared;
    domid_t m_self;
    uint32_t m_max_vcpus;
    uint32_t m_max_port;
    std::function<void(uint32_t)> m_upcall;
    bool m_emul_pin_virqs;

    mutable std::mutex m_lock;
    std::vector<Port> m_ports;                       // index = port number; port 0 is never used
    std::vector<std::vector<evtchn_port_t>> m_virqs; // [vcpu][virq] -> port
};

} // namespace xkvm::xen

// Interdomain event channels between VMM processes.
//
// Each bound channel has a notification socket pair per direction (notify_socket.h): we keep the
// receive end of ours, which the far VMM sends on when its guest sends (a thread here drains it and
// raises our port), and hold the send end of theirs, on which we send when our guest sends. Neither
// can block, whatever the far VMM does to its own end. The send ends are exchanged once, at bind
// time, through xkvmd:
//
//   our guest: EVTCHNOP_bind_interdomain(remote_dom, remote_port)
//   VMM -> daemon  {"op": "evtchn-bind", "id", "remote_dom", "remote_port", "local_port"} + [our fd]
//   daemon -> far  {"op": "evtchn-connect", "id", "port", "remote_dom", "remote_port"}  + [our fd]
//   far -> daemon -> VMM: {"id", "ok": true} + [their fd]   (or Xen's error: ESRCH, EINVAL)
//   VMM -> daemon  {"op": "domain-exists", "id", "domid"}  ->  {"id", "ok": true, "exists": bool}
//
// A close travels as {"event": "evtchn-closed", "port", "remote_dom", "remote_port"} and reaches the
// far side as {"op": "evtchn-peer-closed", ...}; when a domain ends the daemon tells every other VMM
// {"op": "evtchn-domain-gone", "domid"}. After the handshake, events never touch the daemon.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"
#include "ipc/json_message.h"
#include "vmm/frame_queue.h"
#include "xen/event_channels.h"

namespace xkvm::vmm {

class EvtchnRelay final : public xen::InterdomainBroker {
public:
    static constexpr auto kBindTimeout = std::chrono::seconds(5);

    static Result<std::unique_ptr<EvtchnRelay>> create(xen::EventChannels& ec);
    ~EvtchnRelay() override;

    // Frames for the daemon; the control loop takes them when wake_fd() is readable.
    int wake_fd() const { return m_outbox.wake_fd(); }
    std::vector<ipc::Frame> take_outgoing() { return m_outbox.take(); }

    // xen::InterdomainBroker, on a vCPU thread: asks the daemon and waits for the far side.
    Result<std::shared_ptr<xen::Endpoint>> bind(domid_t remote_dom, evtchn_port_t remote_port,
                                                evtchn_port_t local_port) override;
    bool domain_exists(domid_t dom) override;

    // From the control loop. A reply (no "op") to one of our requests; false if it is not ours.
    bool complete(const ipc::Json& reply, std::vector<UniqueFd>& fds);
    // The daemon's evtchn-* requests; the reply's fields (and descriptors) or an error.
    Result<ipc::Json> handle(std::string_view op, const ipc::Json& req, std::vector<UniqueFd>& fds,
                             std::vector<UniqueFd>& reply_fds);

    // Fails whatever waits for the daemon and stops delivering (the domain is going away). Must
    // happen before the event channels it delivers to are destroyed.
    void stop();

    // For a relay that outlives its domain (hypercall_fuzz keeps its relays, and their threads, for
    // the whole run: a thread start and join per input cost more than the input). detach() stops
    // delivering to the event channels and forgets every binding and queued frame, as if the relay
    // were new; attach() then serves another domain's channels. Neither may run while a vCPU or the
    // control loop is inside the relay (bind, complete, handle).
    void detach();
    void attach(xen::EventChannels& ec);

private:
    struct Inbound {
        // The receive end: readable when the far side sent. Shared so that the relay thread reads
        // it without holding m_lock.
        std::shared_ptr<UniqueFd> fd;
        domid_t remote_dom = 0;
        evtchn_port_t remote_port = 0;
    };
    struct Waiter {
        bool done = false;
        Result<ipc::Json> reply = ipc::Json::object();
        std::vector<UniqueFd> fds;
    };
    class Outbound;

    EvtchnRelay(xen::EventChannels& ec, FrameQueue outbox, UniqueFd epoll, UniqueFd stop)
        : m_ec(&ec), m_outbox(std::move(outbox)), m_epoll(std::move(epoll)), m_stop(std::move(stop)) { }
    void run();
    void deliver(const epoll_event* events, int n);
    // Sends a request (an id is added) and waits for the daemon's reply, at most kBindTimeout.
    Result<std::shared_ptr<Waiter>> ask(ipc::Json req, std::vector<UniqueFd> fds);
    Status watch(evtchn_port_t port, Inbound in);
    void unwatch(evtchn_port_t port);
    void local_closed(evtchn_port_t port, domid_t remote_dom, evtchn_port_t remote_port);
    Result<ipc::Json> connect(xen::EventChannels& ec, const ipc::Json& req, std::vector<UniqueFd>& fds,
                              std::vector<UniqueFd>& reply_fds);

    xen::EventChannels* m_ec; // null while detached
    FrameQueue m_outbox;
    UniqueFd m_epoll, m_stop;
    std::thread m_thread;

    // Held by the relay thread while it raises ports, so that detach() returns with none in flight.
    std::mutex m_delivering;
    std::mutex m_lock;
    std::condition_variable m_cv;
    std::map<uint64_t, std::shared_ptr<Waiter>> m_waiters;
    uint64_t m_next_id = 1;
    bool m_shut = false;
    std::map<evtchn_port_t, Inbound> m_inbound; // our port -> its receive end and far end
};

} // namespace xkvm::vmm

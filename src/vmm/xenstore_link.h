// The VMM's end of the guest's xenstore connection: it runs the ring page and passes whole messages
// to a backend (the daemon's xenstored over IPC, or an in-process server when the VMM runs alone),
// and writes the backend's replies and watch events back into the ring.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "base/rate_limit.h"
#include "base/result.h"
#include "xenstore/message.h"
#include "xenstore/ring.h"
#include "xenstore/server.h"

namespace xkvm::vmm {

class XenstoreBackend {
public:
    virtual ~XenstoreBackend() = default;
    // A request from the guest. Replies come back later through XenstoreLink::deliver().
    virtual void send(const xenstore::Message& request) = 0;
    // The guest reset its connection (ring reconnect): forget its watches and transactions.
    virtual void reset() = 0;
};

class XenstoreLink {
public:
    // `page` is the ring page; `notify_guest` raises the store event channel.
    static Result<std::unique_ptr<XenstoreLink>> create(uint8_t* page, std::function<void()> notify_guest);

    void set_backend(XenstoreBackend* backend);
    // The guest sent on the store event channel.
    void guest_notified();
    // A reply or watch event for the guest.
    void deliver(const xenstore::Message& msg);

private:
    XenstoreLink(xenstore::RingConnection ring, std::function<void()> notify)
        : m_ring(std::move(ring)), m_notify(std::move(notify)) { }
    void flush_locked(bool& notify);

    std::mutex m_lock;
    xenstore::RingConnection m_ring;
    std::function<void()> m_notify;
    XenstoreBackend* m_backend = nullptr;
    RateLimiter m_broken_warnings;
};

// A private xenstored for a VMM that runs without the daemon: it holds only this domain's tree.
class LocalXenstore final : public XenstoreBackend, private xenstore::MessageSink {
public:
    static Result<std::unique_ptr<LocalXenstore>> create(uint16_t domid, const std::string& name, XenstoreLink& link);

    void send(const xenstore::Message& request) override;
    void reset() override;
    xenstore::Server& server() { return m_server; }

private:
    explicit LocalXenstore(XenstoreLink& link) : m_link(link), m_server(*this) { }
    void deliver(xenstore::ConnId, const xenstore::Message& msg) override { m_link.deliver(msg); }

    static constexpr xenstore::ConnId kGuestConn = 1;
    XenstoreLink& m_link;
    std::mutex m_lock;
    xenstore::Server m_server;
};

} // namespace xkvm::vmm

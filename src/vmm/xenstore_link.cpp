#include "vmm/xenstore_link.h"

#include "base/log.h"
#include "memory/memory_map.h"

namespace xkvm::vmm {

Result<std::unique_ptr<XenstoreLink>> XenstoreLink::create(uint8_t* page, std::function<void()> notify_guest)
{
    auto ring = TRY(xenstore::RingConnection::create(
        std::span(reinterpret_cast<std::byte*>(page), memory::kPageSize)));
    return std::unique_ptr<XenstoreLink>(new XenstoreLink(std::move(ring), std::move(notify_guest)));
}

void XenstoreLink::set_backend(XenstoreBackend* backend)
{
    std::lock_guard guard(m_lock);
    m_backend = backend;
}

void XenstoreLink::flush_locked(bool& notify)
{
    if (m_ring.flush_responses() > 0)
        notify = true;
}

void XenstoreLink::guest_notified()
{
    std::vector<xenstore::Message> requests;
    bool notify = false;
    XenstoreBackend* backend;
    bool reset = false;
    {
        std::lock_guard guard(m_lock);
        backend = m_backend;
        auto poll = m_ring.read_requests(requests);
        if (poll.bytes_consumed)
            notify = true;
        if (poll.status == xenstore::RingStatus::ReconnectRequested) {
            m_ring.complete_reconnect();
            requests.clear();
            reset = notify = true;
        } else if (poll.status == xenstore::RingStatus::Broken) {
            // Every notify of a broken ring lands here: say so now and then, not every time.
            if (auto dropped = m_broken_warnings.admit())
                log::get("xenstore")->warn("guest broke its xenstore ring (error {}){}", m_ring.error(),
                                           suppressed_note(*dropped));
            notify = true;
        }
        // The guest may have made room for replies that were waiting.
        flush_locked(notify);
    }
    if (backend) {
        if (reset)
            backend->reset();
        for (const auto& r : requests)
            backend->send(r);
    }
    if (notify && m_notify)
        m_notify();
}

void XenstoreLink::deliver(const xenstore::Message& msg)
{
    bool notify = false;
    {
        std::lock_guard guard(m_lock);
        if (auto r = m_ring.queue_response(msg); !r)
            log::get("xenstore")->debug("dropping a reply for the guest: {}", r.error().message);
        flush_locked(notify);
    }
    if (notify && m_notify)
        m_notify();
}

Result<std::unique_ptr<LocalXenstore>> LocalXenstore::create(uint16_t domid, const std::string& name, XenstoreLink& link)
{
    std::unique_ptr<LocalXenstore> xs(new LocalXenstore(link));
    TRY(xs->m_server.create_domain_tree(domid, name));
    TRY(xs->m_server.introduce_domain(domid));
    TRY(xs->m_server.open_connection(kGuestConn, domid));
    return xs;
}

void LocalXenstore::send(const xenstore::Message& request)
{
    std::lock_guard guard(m_lock);
    (void)m_server.handle(kGuestConn, request);
}

void LocalXenstore::reset()
{
    std::lock_guard guard(m_lock);
    m_server.reset_connection(kGuestConn);
}

} // namespace xkvm::vmm

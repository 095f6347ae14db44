#include "vmm/daemon_xenstore.h"

#include "base/log.h"
#include "ipc/json_message.h"

namespace xkvm::vmm {

Result<std::unique_ptr<DaemonXenstore>> DaemonXenstore::create(uint32_t domid)
{
    auto queue = TRY(FrameQueue::create(kMaxQueued));
    return std::unique_ptr<DaemonXenstore>(new DaemonXenstore(std::move(queue), domid));
}

void DaemonXenstore::send(const xenstore::Message& request)
{
    auto bytes = request.encode();
    if (!m_queue.push(ipc::Frame::make(ipc::FrameKind::Xenstore, std::string(bytes.begin(), bytes.end()))))
        if (m_dropped++ == 0)
            log::get("xenstore")->warn("guest floods xenstore requests; dropping the excess");
}

void DaemonXenstore::reset()
{
    // Requests from before the reconnect are void; the daemon drops watches and transactions.
    m_queue.drop_if([](const ipc::Frame&) { return true; });
    (void)m_queue.push(ipc::json_frame(ipc::Json { { "event", "xs-reset" } }));
}

std::vector<ipc::Frame> DaemonXenstore::take_outgoing(XenstoreLink& link)
{
    std::vector<ipc::Frame> out;
    for (auto& f : m_queue.take()) {
        if (f.kind != ipc::FrameKind::Xenstore) {
            m_session.reset(); // the xs-reset event
            out.push_back(std::move(f));
            continue;
        }
        // Our own encoding of a request the link parsed: it decodes.
        auto msg = xenstore::decode_message(
            std::span(reinterpret_cast<const uint8_t*>(f.payload.data()), f.payload.size()));
        if (msg && !m_session.sent(*msg))
            link.deliver(XenstoreSession::lost_transaction(*msg));
        else
            out.push_back(std::move(f));
    }
    return out;
}

Status DaemonXenstore::deliver(XenstoreLink& link, const ipc::Frame& frame)
{
    auto msg = TRY(xenstore::decode_message(
        std::span(reinterpret_cast<const uint8_t*>(frame.payload.data()), frame.payload.size())));
    if (m_session.answered(msg))
        link.deliver(msg);
    return {};
}

void DaemonXenstore::requeue_for_new_daemon(XenstoreLink& link)
{
    auto replay = m_session.replay();
    for (auto& msg : replay.to_guest)
        link.deliver(msg);
    std::vector<ipc::Frame> frames;
    for (auto& msg : replay.to_daemon) {
        auto bytes = msg.encode();
        frames.push_back(ipc::Frame::make(ipc::FrameKind::Xenstore, std::string(bytes.begin(), bytes.end())));
    }
    m_queue.push_front(std::move(frames));
    if (m_session.overflowed())
        log::get("xenstore")->warn("the guest's xenstore session was too large to record whole; a new "
                                   "xkvmd gets part of it back");
}

size_t DaemonXenstore::dropped() const
{
    return m_dropped.load();
}

} // namespace xkvm::vmm

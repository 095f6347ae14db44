#include "vmm/daemon_xenstore.h"

#include "base/log.h"
#include "ipc/json_message.h"

namespace xkvm::vmm {

Result<std::unique_ptr<DaemonXenstore>> DaemonXenstore::create()
{
    auto queue = TRY(FrameQueue::create(kMaxQueued));
    return std::unique_ptr<DaemonXenstore>(new DaemonXenstore(std::move(queue)));
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

std::vector<ipc::Frame> DaemonXenstore::take_outgoing()
{
    return m_queue.take();
}

Status DaemonXenstore::deliver(XenstoreLink& link, const ipc::Frame& frame)
{
    auto msg = TRY(xenstore::decode_message(
        std::span(reinterpret_cast<const uint8_t*>(frame.payload.data()), frame.payload.size())));
    link.deliver(msg);
    return {};
}

size_t DaemonXenstore::dropped() const
{
    return m_dropped.load();
}

} // namespace xkvm::vmm

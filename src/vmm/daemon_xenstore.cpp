#include "vmm/daemon_xenstore.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "ipc/json_message.h"

namespace xkvm::vmm {

Result<std::unique_ptr<DaemonXenstore>> DaemonXenstore::create()
{
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!efd)
        return make_unexpected(Error::from_errno("eventfd"));
    return std::unique_ptr<DaemonXenstore>(new DaemonXenstore(std::move(efd)));
}

void DaemonXenstore::signal()
{
    uint64_t one = 1;
    (void)!::write(m_wake.get(), &one, sizeof(one));
}

void DaemonXenstore::send(const xenstore::Message& request)
{
    auto bytes = request.encode();
    {
        std::lock_guard guard(m_lock);
        if (m_queue.size() >= kMaxQueued) {
            if (m_dropped++ == 0)
                log::get("xenstore")->warn("guest floods xenstore requests; dropping the excess");
            return;
        }
        m_queue.push_back(ipc::Frame::make(ipc::FrameKind::Xenstore, std::string(bytes.begin(), bytes.end())));
    }
    signal();
}

void DaemonXenstore::reset()
{
    {
        std::lock_guard guard(m_lock);
        // Requests from before the reconnect are void; the daemon drops watches and transactions.
        m_queue.clear();
        m_queue.push_back(ipc::json_frame(ipc::Json { { "event", "xs-reset" } }));
    }
    signal();
}

std::vector<ipc::Frame> DaemonXenstore::take_outgoing()
{
    uint64_t count;
    (void)!::read(m_wake.get(), &count, sizeof(count));
    std::lock_guard guard(m_lock);
    std::vector<ipc::Frame> out;
    out.reserve(m_queue.size());
    for (auto& f : m_queue)
        out.push_back(std::move(f));
    m_queue.clear();
    return out;
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
    std::lock_guard guard(m_lock);
    return m_dropped;
}

} // namespace xkvm::vmm

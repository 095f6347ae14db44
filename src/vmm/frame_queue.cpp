#include "vmm/frame_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace xkvm::vmm {

Result<FrameQueue> FrameQueue::create(size_t max_queued)
{
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!efd)
        return make_unexpected(Error::from_errno("eventfd"));
    return FrameQueue(std::move(efd), max_queued);
}

bool FrameQueue::push(ipc::Frame frame)
{
    {
        std::lock_guard guard(*m_lock);
        if (m_queue.size() >= m_max)
            return false;
        m_queue.push_back(std::move(frame));
    }
    uint64_t one = 1;
    (void)!::write(m_wake.get(), &one, sizeof(one));
    return true;
}

void FrameQueue::drop_if(const std::function<bool(const ipc::Frame&)>& pred)
{
    std::lock_guard guard(*m_lock);
    std::erase_if(m_queue, pred);
}

std::vector<ipc::Frame> FrameQueue::take()
{
    uint64_t count;
    (void)!::read(m_wake.get(), &count, sizeof(count));
    std::lock_guard guard(*m_lock);
    std::vector<ipc::Frame> out;
    out.reserve(m_queue.size());
    for (auto& f : m_queue)
        out.push_back(std::move(f));
    m_queue.clear();
    return out;
}

void FrameQueue::push_front(std::vector<ipc::Frame> frames)
{
    if (frames.empty())
        return;
    {
        std::lock_guard guard(*m_lock);
        for (auto it = frames.rbegin(); it != frames.rend(); ++it)
            m_queue.push_front(std::move(*it));
    }
    uint64_t one = 1;
    (void)!::write(m_wake.get(), &one, sizeof(one));
}

} // namespace xkvm::vmm

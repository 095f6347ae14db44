// Frames other threads hand to the control loop, which owns the daemon channel: a bounded queue and
// an eventfd that is readable while anything is queued.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "ipc/frame.h"

namespace xkvm::vmm {

class FrameQueue {
public:
    static Result<FrameQueue> create(size_t max_queued);

    // False (and the frame dropped) when the queue is full: a flooding guest costs bounded memory.
    bool push(ipc::Frame frame);
    // Drops queued frames that match (e.g. requests made void by a reconnect).
    void drop_if(const std::function<bool(const ipc::Frame&)>& pred);
    std::vector<ipc::Frame> take();
    // Puts `frames` ahead of what is queued, in their order, past the bound if need be (they were
    // queued once already).
    void push_front(std::vector<ipc::Frame> frames);
    int wake_fd() const { return m_wake.get(); }

private:
    FrameQueue(UniqueFd wake, size_t max) : m_wake(std::move(wake)), m_max(max) { }

    UniqueFd m_wake;
    size_t m_max;
    std::unique_ptr<std::mutex> m_lock = std::make_unique<std::mutex>();
    std::deque<ipc::Frame> m_queue;
};

} // namespace xkvm::vmm

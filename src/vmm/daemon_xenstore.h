// The guest's xenstore served by xkvmd: requests the guest puts on its ring travel to the daemon as
// FrameKind::Xenstore frames on the VMM's control channel; replies and watch events come back the
// same way and go into the ring through XenstoreLink::deliver().
//
// send()/reset() run on vCPU threads; the control loop (one thread) owns the channel. So requests
// are queued here and an eventfd wakes the loop, which takes them with take_outgoing().
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "base/result.h"
#include "ipc/frame.h"
#include "vmm/frame_queue.h"
#include "vmm/xenstore_link.h"

namespace xkvm::vmm {

class DaemonXenstore final : public XenstoreBackend {
public:
    // A guest that floods requests faster than the daemon answers loses the excess (bounded memory).
    static constexpr size_t kMaxQueued = 1024;

    static Result<std::unique_ptr<DaemonXenstore>> create();

    void send(const xenstore::Message& request) override;
    void reset() override;

    // Readable when there is something to take.
    int wake_fd() const { return m_queue.wake_fd(); }
    // Frames for the daemon: Xenstore frames for requests, a Json {"event":"xs-reset"} for a reset.
    std::vector<ipc::Frame> take_outgoing();
    // A frame from the daemon for the guest. EPROTO if it is not one well-formed xenstore message.
    static Status deliver(XenstoreLink& link, const ipc::Frame& frame);

    size_t dropped() const;

private:
    explicit DaemonXenstore(FrameQueue queue) : m_queue(std::move(queue)) { }

    FrameQueue m_queue;
    std::atomic<size_t> m_dropped { 0 };
};

} // namespace xkvm::vmm

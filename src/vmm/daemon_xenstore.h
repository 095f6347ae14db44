// The guest's xenstore served by xkvmd: requests the guest puts on its ring travel to the daemon as
// FrameKind::Xenstore frames on the VMM's control channel; replies and watch events come back the
// same way and go into the ring through XenstoreLink::deliver().
//
// send()/reset() run on vCPU threads; the control loop (one thread) owns the channel. So requests
// are queued here and an eventfd wakes the loop, which takes them with take_outgoing().
//
// The loop's side also keeps the guest's session (xenstore_session.h): if xkvmd dies, the next one
// gets the unanswered requests, the guest's watches and its nodes again (requeue_for_new_daemon()),
// and the guest never learns that its store was rebuilt.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "base/result.h"
#include "ipc/frame.h"
#include "vmm/frame_queue.h"
#include "vmm/xenstore_link.h"
#include "vmm/xenstore_session.h"

namespace xkvm::vmm {

class DaemonXenstore final : public XenstoreBackend {
public:
    // A guest that floods requests faster than the daemon answers loses the excess (bounded memory).
    static constexpr size_t kMaxQueued = 1024;

    static Result<std::unique_ptr<DaemonXenstore>> create(uint32_t domid);

    void send(const xenstore::Message& request) override;
    void reset() override;

    // Readable when there is something to take.
    int wake_fd() const { return m_queue.wake_fd(); }
    // Frames for the daemon: Xenstore frames for requests, a Json {"event":"xs-reset"} for a reset.
    // Requests in a transaction the old daemon took with it are answered into `link` instead.
    std::vector<ipc::Frame> take_outgoing(XenstoreLink& link);
    // A frame from the daemon for the guest. EPROTO if it is not one well-formed xenstore message.
    // Answers to the replayed session are not passed on.
    Status deliver(XenstoreLink& link, const ipc::Frame& frame);
    // The daemon went away: what restores the guest's session goes first to the next one.
    void requeue_for_new_daemon(XenstoreLink& link);
    const XenstoreSession& session() const { return m_session; }

    size_t dropped() const;

private:
    DaemonXenstore(FrameQueue queue, uint32_t domid)
        : m_queue(std::move(queue)), m_session(fmt::format("/local/domain/{}", domid)) { }

    FrameQueue m_queue;
    XenstoreSession m_session; // the control loop's thread only
    std::atomic<size_t> m_dropped { 0 };
};

} // namespace xkvm::vmm

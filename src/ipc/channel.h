// A framed, non-blocking Unix stream socket: incremental receive (with descriptors), a bounded send
// queue, and blocking helpers for simple one-request clients (the CLI).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "ipc/frame.h"

namespace xkvm::ipc {

class Channel {
public:
    // Takes a connected stream socket and makes it non-blocking.
    static Result<std::unique_ptr<Channel>> create(UniqueFd fd, Limits limits = {});

    int fd() const { return m_fd.get(); }
    const Limits& limits() const { return m_limits; }

    // Reads what is available now, up to about `budget` bytes (it stops reading once that much has
    // arrived; the rest waits in the socket for the next call, so one flooding peer cannot make its
    // reader gather without end). Complete frames go to `out`. false: the peer closed the
    // connection (frames received before that are still in `out`). An error means a broken peer.
    Result<bool> receive(std::vector<Frame>& out, size_t budget = SIZE_MAX);

    // Queues a frame and sends what the socket takes. ENOBUFS when the queue would exceed
    // max_queued_bytes: a peer that does not read is not allowed to grow us without bound.
    Status send(Frame frame);
    // Sends queued bytes until the socket would block.
    Status flush();
    bool has_pending_output() const { return !m_out.empty(); }
    size_t queued_bytes() const { return m_queued_bytes; }
    void set_max_queued_bytes(size_t n) { m_max_queued = n; }

    // Blocking helpers (poll with a deadline): ETIMEDOUT when it passes, ECONNRESET on a close.
    Status flush_blocking(std::chrono::milliseconds timeout);
    Result<Frame> receive_blocking(std::chrono::milliseconds timeout);
    Result<Frame> call(Frame request, std::chrono::milliseconds timeout);

private:
    struct Outgoing {
        std::string bytes;
        std::vector<UniqueFd> fds; // sent with the first byte
        size_t sent = 0;
    };
    Channel(UniqueFd fd, Limits limits) : m_fd(std::move(fd)), m_limits(limits), m_decoder(limits) { }

    UniqueFd m_fd;
    Limits m_limits;
    FrameDecoder m_decoder;
    std::deque<Outgoing> m_out;
    size_t m_queued_bytes = 0;
    size_t m_max_queued = 64u << 20;
    std::deque<Frame> m_ready; // frames read by receive_blocking beyond the one returned
    std::unique_ptr<uint8_t[]> m_read_buf; // receive's, allocated on its first call
};

} // namespace xkvm::ipc

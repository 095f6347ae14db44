#include "ipc/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace xkvm::ipc {

namespace {

constexpr size_t kReadChunk = 64 * 1024;

int remaining_ms(std::chrono::steady_clock::time_point deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

Status wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline)
{
    for (;;) {
        pollfd p { fd, events, 0 };
        int rc = ::poll(&p, 1, remaining_ms(deadline));
        if (rc > 0)
            return {};
        if (rc == 0)
            return fail(ETIMEDOUT, "ipc: timed out waiting for the peer");
        if (errno != EINTR)
            return make_unexpected(Error::from_errno("poll"));
    }
}

} // namespace

Result<std::unique_ptr<Channel>> Channel::create(UniqueFd fd, Limits limits)
{
    if (!fd.valid())
        return fail(EBADF, "ipc: no socket");
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0)
        return make_unexpected(Error::from_errno("fcntl(O_NONBLOCK)"));
    return std::unique_ptr<Channel>(new Channel(std::move(fd), limits));
}

Result<bool> Channel::receive(std::vector<Frame>& out, size_t budget)
{
    // One buffer for the channel's life, never zeroed: a poll loop calls this for every ready
    // peer, and a fresh 64 KiB per call cost more than the reading.
    if (!m_read_buf)
        m_read_buf.reset(new uint8_t[kReadChunk]);
    size_t taken = 0;
    for (;;) {
        if (taken >= budget)
            return true;
        iovec iov { m_read_buf.get(), std::min(kReadChunk, budget - taken) };
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 32)];
        msghdr msg {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        ssize_t n = ::recvmsg(m_fd.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == ECONNRESET)
                return false;
            return make_unexpected(Error::from_errno("recvmsg"));
        }
        // Take ownership of every descriptor before judging anything, so none leaks.
        std::vector<UniqueFd> fds;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                fds.emplace_back(fd);
            }
        }
        if (msg.msg_flags & MSG_CTRUNC)
            return fail(EPROTO, "ipc: too many descriptors in one message");
        if (!fds.empty())
            TRY(m_decoder.add_fds(std::move(fds)));
        if (n == 0)
            return false;
        TRY(m_decoder.feed(std::span<const uint8_t>(m_read_buf.get(), static_cast<size_t>(n)), out));
        taken += static_cast<size_t>(n);
    }
}

Status Channel::send(Frame frame)
{
    auto bytes = TRY(encode_frame(frame, m_limits));
    if (m_queued_bytes + bytes.size() > m_max_queued)
        return fail(ENOBUFS, "ipc: peer is not reading ({} bytes queued)", m_queued_bytes);
    m_queued_bytes += bytes.size();
    m_out.push_back(Outgoing { std::move(bytes), std::move(frame.fds), 0 });
    return flush();
}

Status Channel::flush()
{
    while (!m_out.empty()) {
        Outgoing& o = m_out.front();
        iovec iov { o.bytes.data() + o.sent, o.bytes.size() - o.sent };
        msghdr msg {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 255)];
        if (o.sent == 0 && !o.fds.empty()) {
            size_t len = sizeof(int) * o.fds.size();
            msg.msg_control = control;
            msg.msg_controllen = CMSG_SPACE(len);
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(len);
            for (size_t i = 0; i < o.fds.size(); ++i) {
                int fd = o.fds[i].get();
                std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
            }
        }
        ssize_t n = ::sendmsg(m_fd.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return {};
            return make_unexpected(Error::from_errno("sendmsg"));
        }
        if (n > 0 && o.sent == 0)
            o.fds.clear(); // the kernel holds its own references now
        o.sent += static_cast<size_t>(n);
        m_queued_bytes -= static_cast<size_t>(n);
        if (o.sent == o.bytes.size())
            m_out.pop_front();
    }
    return {};
}

Status Channel::flush_blocking(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    TRY(flush());
    while (has_pending_output()) {
        TRY(wait_fd(m_fd.get(), POLLOUT, deadline));
        TRY(flush());
    }
    return {};
}

Result<Frame> Channel::receive_blocking(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (!m_ready.empty()) {
            Frame f = std::move(m_ready.front());
            m_ready.pop_front();
            return f;
        }
        std::vector<Frame> got;
        bool open = TRY(receive(got));
        for (auto& f : got)
            m_ready.push_back(std::move(f));
        if (!m_ready.empty())
            continue;
        if (!open)
            return fail(ECONNRESET, "ipc: the peer closed the connection");
        TRY(wait_fd(m_fd.get(), POLLIN, deadline));
    }
}

Result<Frame> Channel::call(Frame request, std::chrono::milliseconds timeout)
{
    auto start = std::chrono::steady_clock::now();
    TRY(send(std::move(request)));
    TRY(flush_blocking(timeout));
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    return receive_blocking(timeout > spent ? timeout - spent : std::chrono::milliseconds(0));
}

} // namespace xkvm::ipc

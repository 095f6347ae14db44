#include "ipc/frame.h"

#include <cstring>

namespace xkvm::ipc {

Status validate_header(const FrameHeader& h, const Limits& limits)
{
    if (h.kind == 0 || h.kind > kMaxFrameKind)
        return fail(EPROTO, "ipc: unknown frame kind {}", h.kind);
    if (h.flags != 0)
        return fail(EPROTO, "ipc: reserved frame flags {:#x} set", h.flags);
    if (h.length > limits.max_payload)
        return fail(EMSGSIZE, "ipc: frame of {} bytes exceeds the limit of {}", h.length, limits.max_payload);
    if (h.fd_count > limits.max_fds)
        return fail(EPROTO, "ipc: frame carries {} descriptors, at most {} allowed", h.fd_count, limits.max_fds);
    return {};
}

Result<std::string> encode_frame(const Frame& frame, const Limits& limits)
{
    if (frame.payload.size() > limits.max_payload)
        return fail(EMSGSIZE, "ipc: frame of {} bytes exceeds the limit of {}", frame.payload.size(),
                    limits.max_payload);
    if (frame.fds.size() > limits.max_fds)
        return fail(EMSGSIZE, "ipc: {} descriptors in one frame, at most {} allowed", frame.fds.size(),
                    limits.max_fds);
    FrameHeader h;
    h.length = static_cast<uint32_t>(frame.payload.size());
    h.kind = static_cast<uint16_t>(frame.kind);
    h.fd_count = static_cast<uint8_t>(frame.fds.size());
    TRY(validate_header(h, limits));
    std::string out(kHeaderSize + frame.payload.size(), '\0');
    std::memcpy(out.data(), &h, kHeaderSize);
    std::memcpy(out.data() + kHeaderSize, frame.payload.data(), frame.payload.size());
    return out;
}

Status FrameDecoder::fail_with(Error e)
{
    m_broken = true;
    m_buffer.clear();
    m_fds.clear();
    return make_unexpected(std::move(e));
}

Status FrameDecoder::add_fds(std::vector<UniqueFd> fds)
{
    if (m_broken)
        return fail(EPROTO, "ipc: channel already failed");
    for (auto& fd : fds)
        m_fds.push_back(std::move(fd));
    if (m_fds.size() > m_limits.max_pending_fds)
        return fail_with(Error { EPROTO, fmt::format("ipc: {} unclaimed descriptors received", m_fds.size()) });
    return {};
}

Status FrameDecoder::feed(std::span<const uint8_t> bytes, std::vector<Frame>& out)
{
    if (m_broken)
        return fail(EPROTO, "ipc: channel already failed");
    m_buffer.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    size_t pos = 0;
    while (m_buffer.size() - pos >= kHeaderSize) {
        FrameHeader h;
        std::memcpy(&h, m_buffer.data() + pos, kHeaderSize);
        if (auto r = validate_header(h, m_limits); !r)
            return fail_with(r.release_error());
        if (h.fd_count > m_fds.size())
            return fail_with(Error { EPROTO, fmt::format("ipc: frame claims {} descriptors but {} arrived",
                                                         h.fd_count, m_fds.size()) });
        if (m_buffer.size() - pos - kHeaderSize < h.length)
            break;
        Frame f;
        f.kind = static_cast<FrameKind>(h.kind);
        f.payload.assign(m_buffer, pos + kHeaderSize, h.length);
        for (uint8_t i = 0; i < h.fd_count; ++i) {
            f.fds.push_back(std::move(m_fds.front()));
            m_fds.pop_front();
        }
        out.push_back(std::move(f));
        pos += kHeaderSize + h.length;
    }
    m_buffer.erase(0, pos);
    return {};
}

} // namespace xkvm::ipc

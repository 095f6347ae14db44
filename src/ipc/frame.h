// Framed messages between the toolstack's processes (CLI, xkvmd, VMMs) over Unix stream sockets.
//
// Wire format of one frame: an 8-byte header in host byte order (all peers share one host)
//     u32 length    payload bytes that follow (at most Limits::max_payload)
//     u16 kind      FrameKind
//     u8  flags     reserved, must be 0
//     u8  fd_count  file descriptors sent with the frame (SCM_RIGHTS), at most Limits::max_fds
// followed by the payload. A frame's descriptors travel as ancillary data with the first byte of its
// header, so they have always arrived by the time the header is complete.
//
// Every field is validated: a peer (possibly a compromised VMM) that sends anything else gets an
// error and its channel is closed; the receiver never crashes or allocates without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm::ipc {

enum class FrameKind : uint16_t {
    Json = 1,     // a control message: one JSON object (UTF-8 text)
    Xenstore = 2, // one raw xenstore wire message (header + payload), to or from a guest connection
    Bytes = 3,    // opaque bytes (console data, bulk transfers)
};
inline constexpr uint16_t kMaxFrameKind = 3;

struct FrameHeader {
    uint32_t length = 0;
    uint16_t kind = 0;
    uint8_t flags = 0;
    uint8_t fd_count = 0;
};
static_assert(sizeof(FrameHeader) == 8);
inline constexpr size_t kHeaderSize = sizeof(FrameHeader);

struct Limits {
    uint32_t max_payload = 4u << 20; // a VM spec or a list reply is far smaller
    uint8_t max_fds = 8;             // per frame
    size_t max_pending_fds = 16;     // received but not yet claimed by a frame header
};

struct Frame {
    FrameKind kind = FrameKind::Json;
    std::string payload;
    std::vector<UniqueFd> fds;

    static Frame make(FrameKind kind, std::string payload, std::vector<UniqueFd> fds = {})
    {
        Frame f;
        f.kind = kind;
        f.payload = std::move(payload);
        f.fds = std::move(fds);
        return f;
    }
};

// Checks a header against the limits; EPROTO/EMSGSIZE with a message saying what is wrong.
Status validate_header(const FrameHeader& h, const Limits& limits);

// Header + payload bytes for `frame` (the fds go separately). EMSGSIZE if over the limits.
Result<std::string> encode_frame(const Frame& frame, const Limits& limits = {});

// Turns a byte stream (plus the descriptors that arrived with it) back into frames, incrementally.
// Pure logic: no I/O, so it is unit-tested and fuzzed directly. After an error it stays broken.
class FrameDecoder {
public:
    explicit FrameDecoder(Limits limits = {}) : m_limits(limits) { }

    // Descriptors received with the bytes that follow; EMFILE-style error past max_pending_fds.
    Status add_fds(std::vector<UniqueFd> fds);
    // Appends bytes; every frame completed by them goes to `out`.
    Status feed(std::span<const uint8_t> bytes, std::vector<Frame>& out);
    // Bytes of an incomplete frame held back.
    size_t buffered() const { return m_buffer.size(); }
    size_t pending_fds() const { return m_fds.size(); }
    bool broken() const { return m_broken; }

private:
    Status fail_with(Error e);

    Limits m_limits;
    std::string m_buffer;
    std::deque<UniqueFd> m_fds;
    bool m_broken = false;
};

} // namespace xkvm::ipc

#include "xenstore/ring.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "base/rate_limit.h"
#include "base/shared_index.h"

namespace xkvm::xenstore {

namespace {

uint32_t mask(uint32_t index)
{
    return index & (kRingSize - 1);
}

} // namespace

Result<RingConnection> RingConnection::create(std::span<std::byte> page, RingOptions options)
{
    if (page.size() < sizeof(RingInterface))
        return fail(EINVAL, "xenstore ring page of {} bytes is smaller than {}", page.size(),
                    sizeof(RingInterface));
    if (reinterpret_cast<uintptr_t>(page.data()) % alignof(uint32_t) != 0)
        return fail(EINVAL, "xenstore ring page is not 4-byte aligned");
    auto* intf = reinterpret_cast<RingInterface*>(page.data());
    return RingConnection(intf, options);
}

RingConnection::RingConnection(RingInterface* intf, RingOptions options)
    : m_intf(intf)
    , m_options(options)
{
    m_req_cons = load_acquire(m_intf->req_cons);
    m_rsp_prod = load_acquire(m_intf->rsp_prod);
    store_release(m_intf->error, kErrorNone);
    store_release(m_intf->server_features, m_options.features);
}

void RingConnection::set_error(uint32_t code)
{
    m_broken = true;
    m_error = code;
    if (m_options.features & kFeatureError)
        store_release(m_intf->error, code);
    // A guest can break and reconnect its ring in a loop.
    static RateLimiter warnings;
    if (auto dropped = warnings.admit())
        log::get("xenstore")->warn("xenstore ring broken: error {}{}", code, suppressed_note(*dropped));
}

bool RingConnection::reconnect_requested() const
{
    return (m_options.features & kFeatureReconnection)
        && load_acquire(m_intf->connection) == kReconnect;
}

RingPoll RingConnection::read_requests(std::vector<Message>& out, size_t max_messages)
{
    RingPoll poll;
    if (reconnect_requested()) {
        poll.status = RingStatus::ReconnectRequested;
        return poll;
    }
    if (m_broken) {
        poll.status = RingStatus::Broken;
        return poll;
    }
    uint32_t prod = load_acquire(m_intf->req_prod);
    uint32_t avail = prod - m_req_cons;
    if (avail > kRingSize) {
        set_error(kErrorRingIdx);
        poll.status = RingStatus::Broken;
        return poll;
    }

    while (avail > 0 && poll.messages < max_messages) {
        size_t want = m_in.size() < kHeaderSize ? kHeaderSize - m_in.size() : 0;
        if (want == 0) {
            WireHeader h;
            std::memcpy(&h, m_in.data(), kHeaderSize);
            want = kHeaderSize + h.len - m_in.size();
        }
        uint32_t n = static_cast<uint32_t>(std::min<size_t>(want, avail));
        uint32_t first = std::min(n, kRingSize - mask(m_req_cons));
        size_t at = m_in.size();
        m_in.resize(at + n);
        std::memcpy(m_in.data() + at, m_intf->req + mask(m_req_cons), first);
        std::memcpy(m_in.data() + at + first, m_intf->req, n - first);
        m_req_cons += n;
        avail -= n;
        poll.bytes_consumed += n;

        if (m_in.size() < kHeaderSize)
            break;
        WireHeader h;
        std::memcpy(&h, m_in.data(), kHeaderSize);
        if (h.len > kPayloadMax) {
            set_error(kErrorProto);
            poll.status = RingStatus::Broken;
            break;
        }
        if (m_in.size() == kHeaderSize + h.len) {
            out.push_back(Message { h.type, h.req_id, h.tx_id,
                                    std::string(reinterpret_cast<const char*>(m_in.data()) + kHeaderSize, h.len) });
            poll.messages++;
            m_in.clear();
        }
    }
    if (poll.bytes_consumed)
        store_release(m_intf->req_cons, m_req_cons);
    return poll;
}

Status RingConnection::queue_response(const Message& msg)
{
    if (msg.payload.size() > kPayloadMax)
        return fail(E2BIG, "xenstore response of {} bytes", msg.payload.size());
    if (m_broken)
        return fail(EPIPE, "xenstore ring is broken");
    size_t bytes = kHeaderSize + msg.payload.size();
    if (pending_output() + bytes > m_options.max_pending_output)
        return fail(ENOBUFS, "guest is not draining its xenstore ring ({} bytes queued)", pending_output());
    if (m_out_pos > 0 && m_out_pos >= m_out.size() / 2) {
        m_out.erase(0, m_out_pos);
        m_out_pos = 0;
    }
    WireHeader h = msg.header();
    m_out.append(reinterpret_cast<const char*>(&h), kHeaderSize);
    m_out.append(msg.payload);
    return {};
}

size_t RingConnection::flush_responses()
{
    if (m_broken || pending_output() == 0 || reconnect_requested())
        return 0;
    uint32_t cons = load_acquire(m_intf->rsp_cons);
    uint32_t used = m_rsp_prod - cons;
    if (used > kRingSize) {
        set_error(kErrorRingIdx);
        return 0;
    }
    uint32_t n = static_cast<uint32_t>(std::min<size_t>(kRingSize - used, pending_output()));
    uint32_t first = std::min(n, kRingSize - mask(m_rsp_prod));
    std::memcpy(m_intf->rsp + mask(m_rsp_prod), m_out.data() + m_out_pos, first);
    std::memcpy(m_intf->rsp, m_out.data() + m_out_pos + first, n - first);
    m_out_pos += n;
    m_rsp_prod += n;
    if (m_out_pos == m_out.size()) {
        m_out.clear();
        m_out_pos = 0;
    }
    if (n)
        store_release(m_intf->rsp_prod, m_rsp_prod);
    return n;
}

void RingConnection::complete_reconnect()
{
    m_in.clear();
    m_out.clear();
    m_out_pos = 0;
    m_req_cons = 0;
    m_rsp_prod = 0;
    m_broken = false;
    m_error = kErrorNone;
    store_release(m_intf->req_cons, 0);
    store_release(m_intf->req_prod, 0);
    store_release(m_intf->rsp_cons, 0);
    store_release(m_intf->rsp_prod, 0);
    store_release(m_intf->error, kErrorNone);
    store_release(m_intf->connection, kConnected);
}

} // namespace xkvm::xenstore

// The server end of a guest's xenstore ring page (struct xenstore_domain_interface), as the VMM
// runs it: whole request messages out, replies and watch events in. Pure logic on caller-provided
// memory; the caller maps the page, kicks the event channel and forwards messages to the daemon.
//
// The page is shared with a running, possibly hostile guest. Indices are read once per call with
// acquire loads and checked; our own indices (req_cons, rsp_prod) are kept privately and only
// published, so a guest scribbling on them changes nothing. Bytes are copied out of the ring
// before any header is looked at. A header announcing more than kPayloadMax bytes, or producer and
// consumer indices further apart than the ring, break the connection: the error field says why
// (when the ERROR feature is advertised) and nothing more is read or written until a reconnect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "xenstore/message.h"
#include "xenstore/wire.h"

namespace xkvm::xenstore {

struct RingOptions {
    // Written to server_features at creation.
    uint32_t features = kFeatureReconnection | kFeatureError;
    // Reply and event bytes held while the guest does not drain its ring; past this
    // queue_response() refuses with ENOBUFS.
    size_t max_pending_output = 256 * 1024;
};

enum class RingStatus : uint8_t {
    Ok,
    ReconnectRequested, // guest set connection = XENSTORE_RECONNECT: call complete_reconnect()
    Broken, // protocol violation; see error()
};

struct RingPoll {
    size_t messages = 0; // complete requests appended
    size_t bytes_consumed = 0; // non-zero: space freed, notify the guest
    RingStatus status = RingStatus::Ok;
};

class RingConnection {
public:
    // `page`: the shared interface, at least sizeof(RingInterface) bytes, 4-byte aligned, staying
    // mapped for the life of this object. Advertises the features; starts from the indices found.
    // EINVAL when the page is too small or misaligned.
    static Result<RingConnection> create(std::span<std::byte> page, RingOptions options = {});

    // Takes the complete requests available (at most `max_messages`); a partial one is kept for
    // the next call.
    RingPoll read_requests(std::vector<Message>& out, size_t max_messages = SIZE_MAX);

    // Queues a reply or watch event. E2BIG: payload above kPayloadMax; ENOBUFS: too much is queued
    // already; EPIPE: the connection is broken.
    Status queue_response(const Message& msg);
    // Copies as much queued output as fits into the ring. Returns bytes written (non-zero: notify).
    size_t flush_responses();
    size_t pending_output() const { return m_out.size() - m_out_pos; }

    // The guest asks for a reset (only if the RECONNECTION feature is advertised).
    bool reconnect_requested() const;
    // Drops partial and queued messages, empties both queues, clears any error and reports the
    // ring connected again. The caller also resets the daemon side (Server::reset_connection) and
    // notifies the guest.
    void complete_reconnect();

    bool broken() const { return m_broken; }
    uint32_t error() const { return m_error; }

private:
    RingConnection(RingInterface* intf, RingOptions options);
    void set_error(uint32_t code);

    RingInterface* m_intf;
    RingOptions m_options;
    uint32_t m_req_cons = 0;
    uint32_t m_rsp_prod = 0;
    bool m_broken = false;
    uint32_t m_error = kErrorNone;
    std::vector<uint8_t> m_in; // the request being assembled: header, then payload
    std::string m_out; // encoded responses not yet in the ring, from m_out_pos
    size_t m_out_pos = 0;
};

} // namespace xkvm::xenstore

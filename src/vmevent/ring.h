// The vm_event ring as Xen's io/ring.h lays it out over N pages: a 64-byte header (request
// producer, request event, response producer, response event, padding) and then a power-of-two
// number of entries, each the size of one Event. Indices run freely and wrap at 2^32; an entry is
// index & (entries - 1).
//
// The VMM is the front end (it produces requests, consumes responses), the monitor the back end.
// The VMM keeps its own producer and consumer privately and reads only the monitor's response
// producer from shared memory; a producer claiming more responses than there are requests in flight
// is refused (EPROTO), so a broken monitor can make us give up on it, never read garbage or spin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.h"
#include "vmevent/abi.h"

namespace xkvm::vmevent {

struct RingHeader {
    uint32_t req_prod;
    uint32_t req_event;
    uint32_t rsp_prod;
    uint32_t rsp_event;
    uint8_t pad[48];
};
static_assert(sizeof(RingHeader) == 64);

// Entries in a ring of `bytes`: the largest power of two that fits after the header (0 if none).
uint32_t ring_entries(size_t bytes);

class RingFront {
public:
    // `memory` must outlive the ring and hold at least one entry.
    explicit RingFront(std::span<std::byte> memory);

    uint32_t size() const { return m_entries; }
    // Requests that have no response yet (each holds an entry).
    uint32_t in_flight() const { return m_req_prod - m_rsp_cons; }
    uint32_t free_entries() const { return m_entries - in_flight(); }
    // Writes the request and publishes it; false when no entry is free.
    bool put_request(const Event& request);
    // The next response, copied out of shared memory before anyone looks at it; false when none.
    // EPROTO when the monitor's producer is impossible.
    Result<bool> take_response(Event& out);

private:
    RingHeader* header() const { return reinterpret_cast<RingHeader*>(m_memory.data()); }
    Event* entry(uint32_t index) const;

    std::span<std::byte> m_memory;
    uint32_t m_entries = 0;
    uint32_t m_req_prod = 0; // ours: the shared copy is only published
    uint32_t m_rsp_cons = 0;
};

class RingBack {
public:
    explicit RingBack(std::span<std::byte> memory);

    uint32_t size() const { return m_entries; }
    // The next request; false when none. EPROTO when the producer claims more than the ring holds.
    Result<bool> take_request(Event& out);
    // Publishes a response; false when every request taken has had its response already.
    bool put_response(const Event& response);

private:
    RingHeader* header() const { return reinterpret_cast<RingHeader*>(m_memory.data()); }
    Event* entry(uint32_t index) const;

    std::span<std::byte> m_memory;
    uint32_t m_entries = 0;
    uint32_t m_req_cons = 0;
    uint32_t m_rsp_prod = 0;
};

} // namespace xkvm::vmevent

#include "vmevent/ring.h"

#include <cstring>

#include "base/shared_index.h"

namespace xkvm::vmevent {

namespace {

Event* entry_at(std::span<std::byte> memory, uint32_t entries, uint32_t index)
{
    return reinterpret_cast<Event*>(memory.data() + sizeof(RingHeader)) + (index & (entries - 1));
}

} // namespace

uint32_t ring_entries(size_t bytes)
{
    if (bytes < sizeof(RingHeader) + sizeof(Event))
        return 0;
    size_t fit = (bytes - sizeof(RingHeader)) / sizeof(Event);
    uint32_t n = 1;
    while (n * 2 <= fit && n < (1u << 30))
        n *= 2;
    return n;
}

RingFront::RingFront(std::span<std::byte> memory) : m_memory(memory), m_entries(ring_entries(memory.size()))
{
    std::memset(header(), 0, sizeof(RingHeader));
}

Event* RingFront::entry(uint32_t index) const
{
    return entry_at(m_memory, m_entries, index);
}

bool RingFront::put_request(const Event& request)
{
    if (free_entries() == 0)
        return false;
    std::memcpy(entry(m_req_prod), &request, sizeof(Event));
    ++m_req_prod;
    store_release(header()->req_prod, m_req_prod);
    return true;
}

Result<bool> RingFront::take_response(Event& out)
{
    uint32_t produced = load_acquire(header()->rsp_prod);
    uint32_t available = produced - m_rsp_cons;
    if (available == 0)
        return false;
    if (available > in_flight())
        return fail(EPROTO, "the monitor's response producer {} is {} past {} requests in flight", produced,
                    available, in_flight());
    std::memcpy(&out, entry(m_rsp_cons), sizeof(Event));
    ++m_rsp_cons;
    return true;
}

RingBack::RingBack(std::span<std::byte> memory) : m_memory(memory), m_entries(ring_entries(memory.size())) { }

Event* RingBack::entry(uint32_t index) const
{
    return entry_at(m_memory, m_entries, index);
}

Result<bool> RingBack::take_request(Event& out)
{
    uint32_t produced = load_acquire(header()->req_prod);
    uint32_t available = produced - m_req_cons;
    if (available == 0)
        return false;
    if (available > m_entries)
        return fail(EPROTO, "the request producer {} is {} entries ahead of a ring of {}", produced, available,
                    m_entries);
    std::memcpy(&out, entry(m_req_cons), sizeof(Event));
    ++m_req_cons;
    return true;
}

bool RingBack::put_response(const Event& response)
{
    if (m_rsp_prod == m_req_cons)
        return false;
    std::memcpy(entry(m_rsp_prod), &response, sizeof(Event));
    ++m_rsp_prod;
    store_release(header()->rsp_prod, m_rsp_prod);
    return true;
}

} // namespace xkvm::vmevent

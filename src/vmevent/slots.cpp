#include "vmevent/slots.h"

#include <atomic>
#include <cstring>

#include "vmevent/shared_area.h"

namespace xkvm::vmevent {

namespace {

std::atomic_ref<uint32_t> state_of(Slot* s)
{
    return std::atomic_ref<uint32_t>(s->state);
}

} // namespace

size_t slot_area_bytes(uint32_t vcpus)
{
    size_t bytes = size_t { vcpus } * sizeof(Slot);
    return (bytes + kPageSize - 1) / kPageSize * kPageSize;
}

SlotsFront::SlotsFront(std::span<std::byte> memory, uint32_t vcpus) : m_memory(memory), m_submitted(vcpus, false)
{
    reset();
}

void SlotsFront::reset()
{
    for (uint32_t v = 0; v < count(); ++v) {
        state_of(slot(v)).store(kSlotIdle, std::memory_order_release);
        m_submitted[v] = false;
    }
}

bool SlotsFront::submit(uint32_t vcpu, const Event& request)
{
    if (vcpu >= count() || m_submitted[vcpu])
        return false;
    std::memcpy(&slot(vcpu)->u.req, &request, sizeof(Event));
    state_of(slot(vcpu)).store(kSlotSubmit, std::memory_order_release);
    m_submitted[vcpu] = true;
    return true;
}

bool SlotsFront::take_response(uint32_t vcpu, Event& out)
{
    if (vcpu >= count() || !m_submitted[vcpu])
        return false;
    if (state_of(slot(vcpu)).load(std::memory_order_acquire) != kSlotFinish)
        return false;
    std::memcpy(&out, &slot(vcpu)->u.rsp, sizeof(Event));
    state_of(slot(vcpu)).store(kSlotIdle, std::memory_order_release);
    m_submitted[vcpu] = false;
    return true;
}

bool SlotsBack::take_request(uint32_t vcpu, Event& out) const
{
    if (vcpu >= m_vcpus || state_of(slot(vcpu)).load(std::memory_order_acquire) != kSlotSubmit)
        return false;
    std::memcpy(&out, &slot(vcpu)->u.req, sizeof(Event));
    return true;
}

void SlotsBack::finish(uint32_t vcpu, const Event& response)
{
    if (vcpu >= m_vcpus)
        return;
    std::memcpy(&slot(vcpu)->u.rsp, &response, sizeof(Event));
    state_of(slot(vcpu)).store(kSlotFinish, std::memory_order_release);
}

} // namespace xkvm::vmevent

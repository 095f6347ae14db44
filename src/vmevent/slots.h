// One slot per vCPU for its synchronous events (seed 004): the VMM writes a request and moves the
// slot from idle to submit; the monitor writes the response over it and moves it to finish; the
// VMM copies the response out and makes it idle again. Each vCPU has one event in flight at most,
// so slots never fill and no vCPU waits for another's.
//
// The VMM trusts only its own record of which slots it submitted: a monitor that writes finish into
// an idle slot, or scribbles over the state word, is ignored until the VMM submits there.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vmevent/abi.h"

namespace xkvm::vmevent {

// Bytes of the slot area for `vcpus` slots, whole pages.
size_t slot_area_bytes(uint32_t vcpus);

class SlotsFront {
public:
    // `memory` holds at least slot_area_bytes(vcpus).
    SlotsFront(std::span<std::byte> memory, uint32_t vcpus);

    uint32_t count() const { return static_cast<uint32_t>(m_submitted.size()); }
    // False when this vCPU's slot already holds an event (or the vCPU does not exist).
    bool submit(uint32_t vcpu, const Event& request);
    // The response, once the monitor finished the slot we submitted; false otherwise.
    bool take_response(uint32_t vcpu, Event& out);
    // Forget what is in flight (the monitor went away); every slot is idle again.
    void reset();

private:
    Slot* slot(uint32_t vcpu) const { return reinterpret_cast<Slot*>(m_memory.data()) + vcpu; }

    std::span<std::byte> m_memory;
    std::vector<bool> m_submitted;
};

class SlotsBack {
public:
    SlotsBack(std::span<std::byte> memory, uint32_t vcpus) : m_memory(memory), m_vcpus(vcpus) { }

    // The request in this vCPU's slot, when it was submitted; false otherwise.
    bool take_request(uint32_t vcpu, Event& out) const;
    // Writes the response and marks the slot finished.
    void finish(uint32_t vcpu, const Event& response);

private:
    Slot* slot(uint32_t vcpu) const { return reinterpret_cast<Slot*>(m_memory.data()) + vcpu; }

    std::span<std::byte> m_memory;
    uint32_t m_vcpus;
};

} // namespace xkvm::vmevent

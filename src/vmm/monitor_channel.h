// The transport to one connected vm_event monitor: the ring (N pages), one slot per vCPU when the
// domain offers them, and a notification socket pair for the ring and for each slot (both
// directions over one pair). The monitor's ends are handed over once each; ours are polled by the
// monitor service's thread. Everything the monitor writes is read through vmevent's checked fronts.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "vmevent/ring.h"
#include "vmevent/shared_area.h"
#include "vmevent/slots.h"

namespace xkvm::vmm {

class MonitorChannel {
public:
    static Result<std::unique_ptr<MonitorChannel>> create(uint32_t vcpus, uint32_t ring_pages, bool slots);

    uint32_t vcpus() const { return m_vcpus; }
    bool has_slots() const { return m_slots.has_value(); }
    uint32_t ring_entries() const { return m_ring->size(); }
    uint32_t ring_free() const { return m_ring->free_entries(); }

    // For the reply to "open": ring memfd, the monitor's end of the ring notification, slot memfd.
    Result<std::vector<UniqueFd>> open_fds();
    // The monitor's ends of these slots' notifications; each is handed over once (EINVAL after).
    Result<std::vector<UniqueFd>> slot_notify_fds(uint32_t first, uint32_t count);

    int ring_notify_fd() const { return m_ring_notify.get(); }
    int slot_notify_fd(uint32_t vcpu) const { return m_slot_notify[vcpu].get(); }

    // Each publishes and notifies; false when there is no room (ring full, slot busy).
    bool put_ring(const vmevent::Event& request);
    bool submit_slot(uint32_t vcpu, const vmevent::Event& request);
    Result<bool> take_ring_response(vmevent::Event& out) { return m_ring->take_response(out); }
    bool take_slot_response(uint32_t vcpu, vmevent::Event& out) { return m_slots->take_response(vcpu, out); }

private:
    MonitorChannel(uint32_t vcpus, vmevent::SharedArea ring_area) : m_vcpus(vcpus), m_ring_area(std::move(ring_area)) { }

    uint32_t m_vcpus;
    vmevent::SharedArea m_ring_area;
    std::optional<vmevent::RingFront> m_ring;
    UniqueFd m_ring_notify, m_ring_notify_far;
    std::optional<vmevent::SharedArea> m_slot_area;
    std::optional<vmevent::SlotsFront> m_slots;
    std::vector<UniqueFd> m_slot_notify, m_slot_notify_far;
};

} // namespace xkvm::vmm

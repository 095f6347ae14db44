// Xen's rule for a domain's own vCPUs producing into its vm_event ring, so that every vCPU can
// always place at least one event: after placing one, a vCPU that leaves fewer free entries than
// the domain has vCPUs is paused ("blocked") until responses free entries. A vCPU already paused
// for its own synchronous event is exempt (it cannot produce again before its response anyway).
// Responses let blocked vCPUs go, at most one per free entry, round robin from the one after the
// last let go so that none starves while the ring stays busy.
//
// Only the bookkeeping: the monitor service pauses and resumes the vCPUs it names.
#pragma once

#include <cstdint>
#include <vector>

namespace xkvm::vmm {

class RingBlocking {
public:
    explicit RingBlocking(uint32_t vcpus) : m_blocked(vcpus, false) { }

    // `vcpu` placed an event (`sync`: it is paused for it) leaving `free` entries; true when it
    // must now wait for room as well (it is blocked until wake() names it).
    [[nodiscard]] bool after_put(uint32_t vcpu, uint32_t free, bool sync);
    // `free` entries are free now: the blocked vCPUs to resume (no longer blocked), at most `free`.
    [[nodiscard]] std::vector<uint32_t> wake(uint32_t free);

    bool blocked(uint32_t vcpu) const { return m_blocked[vcpu]; }
    uint32_t count() const { return m_count; }

private:
    std::vector<bool> m_blocked;
    uint32_t m_count = 0;
    uint32_t m_last_woken = 0; // as on Xen: the first scan starts after vCPU 0
};

} // namespace xkvm::vmm

// The APIC bus: resolves IPI and IOAPIC/MSI destinations over a machine's LAPICs and delivers to
// each match. A backend's LapicHost::send_ipi and IoapicHost::deliver can forward here.
#pragma once

#include <atomic>
#include <vector>

#include "irqchip/lapic.h"
#include "irqchip/types.h"

namespace xkvm::irqchip {

class ApicBus {
public:
    // Before any delivery: the set of LAPICs is fixed once vCPUs run.
    void attach(Lapic& lapic) { m_lapics.push_back(&lapic); }

    // `source`, when given, decides the self shorthands (guests may give two xAPICs one ID);
    // otherwise Ipi::source_apic_id does.
    void send_ipi(const Ipi& ipi, const Lapic* source = nullptr);
    void deliver(const InterruptMessage& message);

private:
    // Lowest priority goes to one of the matches, round robin (no APR arbitration).
    void deliver_to(std::vector<Lapic*>& targets, DeliveryMode mode, uint8_t vector, bool level);

    std::vector<Lapic*> m_lapics;
    std::atomic<uint32_t> m_next_lowest { 0 };
};

} // namespace xkvm::irqchip

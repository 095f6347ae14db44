#include "irqchip/apic_bus.h"

namespace xkvm::irqchip {

void ApicBus::deliver_to(std::vector<Lapic*>& targets, DeliveryMode mode, uint8_t vector, bool level)
{
    if (targets.empty())
        return;
    if (mode == DeliveryMode::LowestPriority) {
        Lapic* chosen = targets[m_next_lowest.fetch_add(1, std::memory_order_relaxed) % targets.size()];
        chosen->accept(DeliveryMode::Fixed, vector, level);
        return;
    }
    for (Lapic* lapic : targets)
        lapic->accept(mode, vector, level);
}

void ApicBus::send_ipi(const Ipi& ipi, const Lapic* source)
{
    std::vector<Lapic*> targets;
    for (Lapic* lapic : m_lapics) {
        bool self = source ? lapic == source : lapic->id() == ipi.source_apic_id;
        bool hit = false;
        switch (ipi.shorthand) {
        case Shorthand::None: hit = lapic->matches(ipi.destination, ipi.logical, ipi.x2apic); break;
        case Shorthand::Self: hit = self; break;
        case Shorthand::AllIncludingSelf: hit = true; break;
        case Shorthand::AllExcludingSelf: hit = !self; break;
        }
        if (hit)
            targets.push_back(lapic);
    }
    deliver_to(targets, ipi.mode, ipi.vector, ipi.level_triggered);
}

void ApicBus::deliver(const InterruptMessage& message)
{
    std::vector<Lapic*> targets;
    for (Lapic* lapic : m_lapics)
        if (lapic->matches(message.destination, message.logical, message.x2apic_format))
            targets.push_back(lapic);
    deliver_to(targets, message.mode, message.vector, message.level_triggered);
}

} // namespace xkvm::irqchip

#include "vmm/isa_irq.h"

#include <vector>

#include "base/log.h"
#include "hv/vm.h"
#include "xen/domain.h"

namespace xkvm::vmm {

namespace {
constexpr uint32_t kIoapicPins = 24; // the backends' IOAPIC
} // namespace

void IsaIrqRouter::set_level(uint32_t pin, bool level)
{
    if (pin >= kPins)
        return;
    bool raise_event = false;
    bool ioapic_change = false;
    bool ioapic_level = false;
    {
        std::lock_guard guard(m_lock);
        bool rising = level && !m_level[pin];
        m_level[pin] = level;
        bool to_evtchn = m_domain.pin_routed_to_evtchn(pin);
        raise_event = to_evtchn && rising;
        // A pin moved to an event channel no longer drives the IOAPIC.
        ioapic_level = !to_evtchn && level;
        if (ioapic_level != m_ioapic[pin]) {
            m_ioapic[pin] = ioapic_level;
            ioapic_change = true;
        }
    }
    if (ioapic_change)
        if (auto r = m_vm.set_irq_line(pin, ioapic_level); !r)
            log::get("vmm")->warn("{}", r.error().message);
    if (raise_event)
        m_domain.evtchn().raise_virq(VIRQ_EMUL_PIN_START + pin);
}

Status IsaIrqRouter::install_routes(hv::Vm& vm)
{
    using Route = hv::Vm::IrqRoute;
    std::vector<Route> routes;
    for (uint32_t gsi = 0; gsi < kIoapicPins; ++gsi) {
        if (gsi < kPins)
            routes.push_back({ gsi, gsi < 8 ? Route::Chip::PicMaster : Route::Chip::PicSlave, gsi % 8 });
        routes.push_back({ gsi, Route::Chip::Ioapic, gsi == 0 ? 2 : gsi });
    }
    return vm.set_irq_routing(routes);
}

void IsaIrqRouter::pulse(uint32_t pin)
{
    set_level(pin, true);
    set_level(pin, false);
}

} // namespace xkvm::vmm

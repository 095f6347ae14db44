// Where an emulated ISA device's interrupt pin goes: the backend's PIC/IOAPIC, or — once the guest
// has bound VIRQ_EMUL_PIN_START + pin (the PV event-channel extension) — that event channel.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "base/result.h"

namespace xkvm::hv {
class Vm;
}
namespace xkvm::xen {
class Domain;
}

namespace xkvm::vmm {

class IsaIrqRouter {
public:
    IsaIrqRouter(hv::Vm& vm, xen::Domain& domain) : m_vm(vm), m_domain(domain) { }

    // A device drives its pin. Event delivery happens on the rising edge; the IOAPIC sees the level.
    void set_level(uint32_t pin, bool level);
    // An edge-triggered device's tick (the PIT): a rising and a falling edge.
    void pulse(uint32_t pin);

    static constexpr uint32_t kPins = 16;

    // The platform's wiring, as Xen's HVM platform has it: ISA IRQ n drives PIC pin n and IOAPIC
    // pin n, except IRQ 0 (the PIT), which drives IOAPIC pin 2 (the interrupt source override
    // every PC firmware describes); GSIs 16-23 are IOAPIC pins only. Installed once, before the
    // guest runs.
    static Status install_routes(hv::Vm& vm);

private:
    hv::Vm& m_vm;
    xen::Domain& m_domain;
    std::mutex m_lock;
    std::array<bool, kPins> m_level {};     // the device's line
    std::array<bool, kPins> m_ioapic {};    // what the IOAPIC was last told
};

} // namespace xkvm::vmm

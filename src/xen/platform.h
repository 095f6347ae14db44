// What the Xen ABI layer needs from the machine underneath. The VMM implements it on KVM; unit tests
// implement it with fakes. Nothing here names KVM.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "memory/physmap.h"
#include "x86/cpu_state.h"
#include "xen/vcpu_timers.h"

namespace xkvm::xen {

class Platform : public TimerHost {
public:
    ~Platform() override = default;

    virtual memory::Physmap& physmap() = 0;

    // Bytes the guest wrote to a console (console_io, debug port, UART, PV console).
    virtual void console_write(std::string_view bytes) = 0;

    // Make a vCPU re-examine its event state soon: it may be running, halted or blocked. Must not
    // call back into the Xen layer synchronously.
    virtual void kick_vcpu(uint32_t vcpu) = 0;
    // Deliver `vector` through the vCPU's local APIC (the guest EOIs it).
    virtual void lapic_vector(uint32_t vcpu, uint8_t vector) = 0;
    // The GSI callback (HVM_PARAM_CALLBACK_IRQ via GSI or PCI INTx): assert the level-triggered
    // line; the platform keeps it asserted, across the guest's EOIs, while vCPU 0's
    // evtchn_upcall_pending stays set and the callback still names this GSI.
    virtual void assert_callback_gsi(uint32_t gsi) = 0;

    // system_time_ns() (from TimerHost) is the clock of vcpu_time_info: ns since the domain was built.

    // Secondary vCPUs. vcpu_initialise sets the state a vCPU starts from when vcpu_up brings it
    // online; a vCPU taken down with vcpu_down stays out of the guest until vcpu_up.
    virtual Status vcpu_initialise(uint32_t vcpu, const x86::CpuState& state) = 0;
    virtual Status vcpu_up(uint32_t vcpu) = 0;
    virtual Status vcpu_down(uint32_t vcpu) = 0;
    virtual bool vcpu_is_up(uint32_t vcpu) const = 0;
};

} // namespace xkvm::xen

// What happens when one vCPU leaves the guest: hypercalls, port I/O, MMIO, MSRs, faults, and the
// upcall injection KVM cannot do by itself.
#pragma once

#include <atomic>
#include <cstdint>

#include "kvm/exit.h"

namespace xkvm::vmm {

class Machine;

class VcpuExits final : public kvm::ExitHandler {
public:
    VcpuExits(Machine& machine, uint32_t id) : m_machine(machine), m_id(id) { }

    kvm::ExitOutcome handle_exit(kvm::ExitContext& ctx) override;
    bool before_entry(kvm::Vcpu& vcpu) override;

private:
    kvm::ExitOutcome on_io(kvm::ExitContext& ctx);
    kvm::ExitOutcome on_hypercall(kvm::ExitContext& ctx);
    kvm::ExitOutcome on_mmio(kvm::ExitContext& ctx);
    kvm::ExitOutcome on_msr(kvm::ExitContext& ctx);
    kvm::ExitOutcome crash(kvm::ExitContext& ctx, std::string detail);
    // A blocked vCPU: false while it must stay blocked.
    bool update_blocked(kvm::Vcpu& vcpu);
    // Blocks in SCHEDOP_block/poll; false when there is nothing to wait for.
    bool start_block(kvm::Vcpu& vcpu, bool interrupts_enabled);
    bool park();
    void inject_direct_upcall(kvm::Vcpu& vcpu, uint8_t vector);
    void arm_retry();

    Machine& m_machine;
    uint32_t m_id;
    std::atomic<bool> m_retry_armed { false };
    uint32_t m_retry_delay_us = 0;
    // Blocked with interrupts off: parked in user space (no interrupt could wake it inside KVM, and
    // waking a parked thread is cheaper than a signal and two KVM_SET_MP_STATE calls).
    bool m_parked = false;
};

} // namespace xkvm::vmm

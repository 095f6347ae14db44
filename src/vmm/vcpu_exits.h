// What happens when one vCPU leaves the guest: hypercalls, port I/O, MMIO, MSRs, faults, and the
// upcall injection the backend's interrupt controllers cannot do by themselves.
#pragma once

#include <atomic>
#include <cstdint>

#include "hv/exit.h"
#include "hv/vcpu.h"

namespace xkvm::vmm {

class Machine;

class VcpuExits final : public hv::ExitHandler {
public:
    VcpuExits(Machine& machine, uint32_t id) : m_machine(machine), m_id(id) { }

    hv::ExitOutcome handle_exit(hv::ExitContext& ctx) override;
    bool before_entry(hv::Vcpu& vcpu) override;

private:
    hv::ExitOutcome on_io(hv::ExitContext& ctx);
    hv::ExitOutcome on_hypercall(hv::ExitContext& ctx);
    hv::ExitOutcome on_mmio(hv::ExitContext& ctx);
    hv::ExitOutcome on_msr(hv::ExitContext& ctx);
    hv::ExitOutcome crash(hv::ExitContext& ctx, std::string detail);
    hv::ExitOutcome triple_fault(hv::ExitContext& ctx);
    // A blocked vCPU: false while it must stay blocked.
    bool update_blocked(hv::Vcpu& vcpu);
    // Blocks in SCHEDOP_block/poll; false when there is nothing to wait for.
    bool start_block(hv::Vcpu& vcpu, bool interrupts_enabled);
    bool park();
    void inject_direct_upcall(hv::Vcpu& vcpu, uint8_t vector);
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

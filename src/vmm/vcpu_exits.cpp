#include "vmm/vcpu_exits.h"

#include "base/log.h"
#include "vmm/machine.h"
#include "xen/abi/cpuid.h"
#include "xen/abi/sched.h"
#include "xen/hypercall.h"
#include "xen/hypercall_msr.h"

namespace xkvm::vmm {

using hv::ExitOutcome;

namespace {
constexpr uint32_t kRetryMinUs = 50;
constexpr uint32_t kRetryMaxUs = 5000;
} // namespace

ExitOutcome VcpuExits::handle_exit(hv::ExitContext& ctx)
{
    using Kind = hv::Exit::Kind;
    switch (ctx.exit.kind) {
    case Kind::PortIo: return on_io(ctx);
    case Kind::Mmio: return on_mmio(ctx);
    case Kind::MsrRead:
    case Kind::MsrWrite: return on_msr(ctx);
    case Kind::Hypercall: return on_hypercall(ctx);
    case Kind::Halt:
    case Kind::Interrupted: return ExitOutcome::Resume;
    case Kind::Debug: return m_machine.monitor().on_debug(m_id, ctx.vcpu);
    case Kind::Introspect: return m_machine.monitor().on_introspect(m_id, ctx.vcpu, ctx.exit.introspect);
    case Kind::TripleFault: return triple_fault(ctx);
    case Kind::PowerOff:
        m_machine.guest_shutdown(SHUTDOWN_poweroff, "system event: shutdown");
        return ExitOutcome::Shutdown;
    case Kind::Reset:
        m_machine.guest_shutdown(SHUTDOWN_reboot, "system event: reset");
        return ExitOutcome::Shutdown;
    case Kind::Failed: return crash(ctx, fmt::format("{} on vcpu {}", ctx.exit.detail, m_id));
    }
    return crash(ctx, fmt::format("unexpected exit on vcpu {}", m_id));
}

ExitOutcome VcpuExits::crash(hv::ExitContext& ctx, std::string detail)
{
    if (auto regs = ctx.vcpu.regs())
        detail += fmt::format(" at rip {:#x}", regs->rip);
    log::get("vmm")->warn("domain {}: {}", m_machine.spec().name, detail);
    m_machine.guest_shutdown(SHUTDOWN_crash, std::move(detail));
    return ExitOutcome::Shutdown;
}

// Xen ends an HVM or PVH domain that triple-faults with HVM_PARAM_TRIPLE_FAULT_REASON, which is
// SHUTDOWN_reboot unless the toolstack changes it (arch/x86/hvm/hvm.c, hvm_domain_initialise and
// hvm_triple_fault); libxl leaves it, so under xl on_reboot decides, as for a reset button.
ExitOutcome VcpuExits::triple_fault(hv::ExitContext& ctx)
{
    std::string detail = fmt::format("triple fault on vcpu {}", m_id);
    if (auto regs = ctx.vcpu.regs())
        detail += fmt::format(" at rip {:#x}", regs->rip);
    log::get("vmm")->warn("domain {}: {}", m_machine.spec().name, detail);
    m_machine.guest_shutdown(SHUTDOWN_reboot, std::move(detail));
    return ExitOutcome::Shutdown;
}

ExitOutcome VcpuExits::on_io(hv::ExitContext& ctx)
{
    auto& io = ctx.exit.io;
    if (io.port == xen::kHypercallPort && io.write && m_machine.hypercall_trap() == xen::HypercallTrap::PortIo)
        return on_hypercall(ctx);
    for (uint32_t i = 0; i < io.count; ++i) {
        std::span<uint8_t> chunk(io.data + i * io.size, io.size);
        if (io.write)
            m_machine.pio().write(io.port, chunk);
        else
            m_machine.pio().read(io.port, chunk);
    }
    return ExitOutcome::Resume;
}

ExitOutcome VcpuExits::on_hypercall(hv::ExitContext& ctx)
{
    auto regs = ctx.vcpu.regs();
    auto mode = ctx.vcpu.paging_mode();
    if (!regs || !mode)
        return crash(ctx, "cannot read registers for a hypercall");
    bool mode64 = mode->is_64bit_code();
    xen::HypercallRegs decoded = xen::decode_hypercall_regs(*regs, mode64);
    xen::HypercallContext hc {
        m_machine.xen(), m_id, mode64, mode->cpl, decoded.op, decoded.args,
        x86::GuestVirtual(m_machine.physmap(), *mode),
    };
    uint64_t call_rax = regs->gpr[x86::Rax];
    int64_t result = xen::dispatch_hypercall(hc);
    if (decoded.op == XEN_HYPERCALL_memory_op)
        if (auto st = m_machine.after_memory_op(); !st)
            return crash(ctx, fmt::format("DMA space out of step with the physmap: {}", st.error().message));
    // Only rax changes: the backend finishes the trapping instruction itself (KVM completes the
    // OUT; emu retired the VMCALL), and moving rip here would stop it doing so.
    regs->gpr[x86::Rax] = xen::hypercall_return_value(result, mode64);
    if (auto r = ctx.vcpu.set_regs(*regs); !r)
        return crash(ctx, r.error().message);

    switch (hc.effect) {
    case xen::HypercallEffect::None:
        return ExitOutcome::Resume;
    case xen::HypercallEffect::Shutdown:
        m_machine.guest_shutdown(hc.shutdown_reason, fmt::format("guest requested (vcpu {})", m_id));
        return ExitOutcome::Shutdown;
    case xen::HypercallEffect::Block:
        return start_block(ctx.vcpu, regs->rflags & x86::kRflagsIf) ? ExitOutcome::Pause : ExitOutcome::Resume;
    case xen::HypercallEffect::GuestRequest:
        return m_machine.monitor().on_guest_request(m_id, ctx.vcpu, call_rax);
    }
    return ExitOutcome::Resume;
}

ExitOutcome VcpuExits::on_mmio(hv::ExitContext& ctx)
{
    auto& mmio = ctx.exit.mmio;
    // A RAM address exits only while its memslot is being replaced: just try again.
    if (m_machine.physmap().is_mapped(mmio.gpa) && !mmio.write)
        return ExitOutcome::Resume;
    std::span<uint8_t> data(mmio.data, mmio.size);
    if (mmio.write)
        m_machine.mmio().write(mmio.gpa, data);
    else
        m_machine.mmio().read(mmio.gpa, data);
    return ExitOutcome::Resume;
}

ExitOutcome VcpuExits::on_msr(hv::ExitContext& ctx)
{
    auto& msr = ctx.exit.msr;
    bool write = ctx.exit.kind == hv::Exit::Kind::MsrWrite;
    msr.fault = true; // unknown MSRs fault, as KVM's own default is
    if (write && msr.index == XEN_HYPERCALL_MSR) {
        auto r = xen::write_hypercall_msr(m_machine.physmap(), msr.value, m_machine.hypercall_trap());
        if (r)
            msr.fault = false;
        else
            log::get("vmm")->debug("vcpu {}: hypercall MSR write {:#x} refused: {}", m_id, msr.value, r.error().message);
    } else if (!write && msr.index == XEN_HYPERCALL_MSR) {
        msr.value = 0; // write-only on Xen: reads as zero
        msr.fault = false;
    } else {
        log::get("vmm")->debug("vcpu {}: {} of unknown MSR {:#x}", m_id, write ? "write" : "read", msr.index);
    }
    return ExitOutcome::Resume;
}

bool VcpuExits::start_block(hv::Vcpu& vcpu, bool interrupts_enabled)
{
    auto& xen = m_machine.xen();
    xen.vcpu(m_id).blocked = true;
    if (xen.wake_condition(m_id)) {
        xen.end_wait(m_id);
        return false;
    }
    if (!interrupts_enabled)
        return park();
    // With interrupts on, wait in the backend's halt state: a LAPIC interrupt wakes it there (in
    // the kernel, on KVM), an event through a kick.
    if (auto r = vcpu.set_mp_state(hv::MpState::Halted); !r)
        log::get("vmm")->error("{}", r.error().message);
    return false;
}

bool VcpuExits::park()
{
    // The pause reason first, the condition after: a waker makes the condition true, then clears
    // the reason (Machine::kick_vcpu), so one of the two always sees the other.
    m_parked = true;
    m_machine.runner(m_id).add_pause(hv::kPauseBlocked);
    if (!m_machine.xen().wake_condition(m_id))
        return true;
    m_machine.runner(m_id).remove_pause(hv::kPauseBlocked);
    m_machine.xen().end_wait(m_id);
    m_parked = false;
    return false;
}

bool VcpuExits::update_blocked(hv::Vcpu& vcpu)
{
    auto& xen = m_machine.xen();
    if (!xen.vcpu(m_id).blocked)
        return true;
    if (xen.wake_condition(m_id)) {
        xen.end_wait(m_id);
        if (m_parked)
            m_machine.runner(m_id).remove_pause(hv::kPauseBlocked);
        else if (auto r = vcpu.set_mp_state(hv::MpState::Runnable); !r)
            log::get("vmm")->error("{}", r.error().message);
        m_parked = false;
        return true;
    }
    if (m_parked)
        return !park(); // woken for something else: back to the park
    // Woken inside the backend by a LAPIC interrupt, and it has run since.
    auto mp = vcpu.mp_state();
    if (mp && *mp == hv::MpState::Runnable)
        xen.end_wait(m_id);
    return true;
}

bool VcpuExits::before_entry(hv::Vcpu& vcpu)
{
    // An AP that INIT-SIPI started inside the backend shows up here the first time it leaves the guest.
    m_machine.vcpu_entering(m_id, vcpu);
    if (!update_blocked(vcpu))
        return false;
    auto& xen = m_machine.xen();
    if (auto vector = xen.direct_upcall_due(m_id))
        inject_direct_upcall(vcpu, *vector);
    return true;
}

void VcpuExits::inject_direct_upcall(hv::Vcpu& vcpu, uint8_t vector)
{
    auto injected = vcpu.try_inject_interrupt(vector);
    if (!injected) {
        log::get("vmm")->error("{}", injected.error().message);
        return;
    }
    if (!*injected) {
        // No interrupt-window exit exists for this path with the backend's LAPIC: look again soon.
        arm_retry();
        return;
    }
    m_retry_delay_us = 0;
}

void VcpuExits::arm_retry()
{
    if (m_retry_armed.exchange(true))
        return;
    m_retry_delay_us = m_retry_delay_us ? std::min(m_retry_delay_us * 2, kRetryMaxUs) : kRetryMinUs;
    m_machine.timers().schedule_in(std::chrono::microseconds(m_retry_delay_us), [this] {
        m_retry_armed = false;
        m_machine.kick_vcpu(m_id);
    });
}

} // namespace xkvm::vmm

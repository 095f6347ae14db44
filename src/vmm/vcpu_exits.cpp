#include "vmm/vcpu_exits.h"

#include "base/log.h"
#include "kvm/vcpu.h"
#include "vmm/machine.h"
#include "xen/abi/cpuid.h"
#include "xen/abi/sched.h"
#include "xen/hypercall.h"
#include "xen/hypercall_msr.h"

namespace xkvm::vmm {

using kvm::ExitOutcome;

namespace {
std::shared_ptr<spdlog::logger> logger() { return log::get("vmm"); }
constexpr uint32_t kRetryMinUs = 50;
constexpr uint32_t kRetryMaxUs = 5000;
} // namespace

ExitOutcome VcpuExits::handle_exit(kvm::ExitContext& ctx)
{
    switch (ctx.reason) {
    case KVM_EXIT_IO:
        return on_io(ctx);
    case KVM_EXIT_MMIO:
        return on_mmio(ctx);
    case KVM_EXIT_X86_RDMSR:
    case KVM_EXIT_X86_WRMSR:
        return on_msr(ctx);
    case KVM_EXIT_HLT:
    case KVM_EXIT_DEBUG:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        return ExitOutcome::Resume;
    case KVM_EXIT_SHUTDOWN:
        return crash(ctx, fmt::format("triple fault on vcpu {}", m_id));
    case KVM_EXIT_SYSTEM_EVENT:
        switch (ctx.run.system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            m_machine.guest_shutdown(SHUTDOWN_poweroff, "system event: shutdown");
            return ExitOutcome::Shutdown;
        case KVM_SYSTEM_EVENT_RESET:
            m_machine.guest_shutdown(SHUTDOWN_reboot, "system event: reset");
            return ExitOutcome::Shutdown;
        default:
            return crash(ctx, fmt::format("system event {}", ctx.run.system_event.type));
        }
    case KVM_EXIT_INTERNAL_ERROR:
        return crash(ctx, fmt::format("KVM internal error {} on vcpu {} (ndata {} data0 {:#x})",
                                      ctx.run.internal.suberror, m_id, ctx.run.internal.ndata,
                                      ctx.run.internal.ndata ? ctx.run.internal.data[0] : 0));
    case KVM_EXIT_FAIL_ENTRY:
        return crash(ctx, fmt::format("VM entry failed on vcpu {} (reason {:#x})", m_id,
                                      ctx.run.fail_entry.hardware_entry_failure_reason));
    case kvm::kExitRunFailed:
        return crash(ctx, ctx.detail);
    default:
        return crash(ctx, fmt::format("unexpected exit {} on vcpu {}", ctx.reason, m_id));
    }
}

ExitOutcome VcpuExits::crash(kvm::ExitContext& ctx, std::string detail)
{
    if (auto regs = ctx.vcpu.regs())
        detail += fmt::format(" at rip {:#x}", (*regs)->rip);
    logger()->warn("domain {}: {}", m_machine.spec().name, detail);
    m_machine.guest_shutdown(SHUTDOWN_crash, std::move(detail));
    return ExitOutcome::Shutdown;
}

ExitOutcome VcpuExits::on_io(kvm::ExitContext& ctx)
{
    auto& io = ctx.run.io;
    if (io.port == xen::kHypercallPort && io.direction == KVM_EXIT_IO_OUT
        && m_machine.hypercall_trap() == xen::HypercallTrap::PortIo)
        return on_hypercall(ctx);
    auto* data = reinterpret_cast<uint8_t*>(&ctx.run) + io.data_offset;
    for (uint32_t i = 0; i < io.count; ++i) {
        std::span<uint8_t> chunk(data + i * io.size, io.size);
        if (io.direction == KVM_EXIT_IO_OUT)
            m_machine.pio().write(io.port, chunk);
        else
            m_machine.pio().read(io.port, chunk);
    }
    return ExitOutcome::Resume;
}

ExitOutcome VcpuExits::on_hypercall(kvm::ExitContext& ctx)
{
    auto regs = ctx.vcpu.regs();
    auto mode = ctx.vcpu.paging_mode();
    if (!regs || !mode)
        return crash(ctx, "cannot read registers for a hypercall");
    kvm_regs& r = **regs;
    bool mode64 = mode->is_64bit_code();
    xen::HypercallContext hc {
        m_machine.xen(), m_id, mode64, mode->cpl, mode64 ? r.rax : (r.rax & 0xffffffffu), {},
        x86::GuestVirtual(m_machine.physmap(), *mode),
    };
    if (mode64)
        hc.args = { r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9 };
    else
        hc.args = { r.rbx & 0xffffffffu, r.rcx & 0xffffffffu, r.rdx & 0xffffffffu,
                    r.rsi & 0xffffffffu, r.rdi & 0xffffffffu, r.rbp & 0xffffffffu };
    int64_t result = xen::dispatch_hypercall(hc);
    // Only rax changes: KVM finishes the OUT itself, and moving rip here would stop it doing so.
    r.rax = mode64 ? static_cast<uint64_t>(result) : static_cast<uint32_t>(result);
    ctx.vcpu.mark_regs_dirty();

    switch (hc.effect) {
    case xen::HypercallEffect::None:
        return ExitOutcome::Resume;
    case xen::HypercallEffect::Shutdown:
        m_machine.guest_shutdown(hc.shutdown_reason, fmt::format("guest requested (vcpu {})", m_id));
        return ExitOutcome::Shutdown;
    case xen::HypercallEffect::Block:
        return start_block(ctx.vcpu, r.rflags & x86::kRflagsIf) ? ExitOutcome::Pause : ExitOutcome::Resume;
    }
    return ExitOutcome::Resume;
}

ExitOutcome VcpuExits::on_mmio(kvm::ExitContext& ctx)
{
    auto& mmio = ctx.run.mmio;
    // A RAM address exits only while its memslot is being replaced: just try again.
    if (m_machine.physmap().is_mapped(mmio.phys_addr) && !mmio.is_write)
        return ExitOutcome::Resume;
    std::span<uint8_t> data(mmio.data, std::min<uint32_t>(mmio.len, sizeof(mmio.data)));
    if (mmio.is_write)
        m_machine.mmio().write(mmio.phys_addr, data);
    else
        m_machine.mmio().read(mmio.phys_addr, data);
    return ExitOutcome::Resume;
}

ExitOutcome VcpuExits::on_msr(kvm::ExitContext& ctx)
{
    auto& msr = ctx.run.msr;
    msr.error = 1; // unknown MSRs fault, as KVM's own default is
    if (ctx.reason == KVM_EXIT_X86_WRMSR && msr.index == XEN_HYPERCALL_MSR) {
        auto r = xen::write_hypercall_msr(m_machine.physmap(), msr.data, m_machine.hypercall_trap());
        if (r)
            msr.error = 0;
        else
            logger()->debug("vcpu {}: hypercall MSR write {:#x} refused: {}", m_id, msr.data, r.error().message);
    } else if (ctx.reason == KVM_EXIT_X86_RDMSR && msr.index == XEN_HYPERCALL_MSR) {
        msr.data = 0; // write-only on Xen: reads as zero
        msr.error = 0;
    } else {
        logger()->debug("vcpu {}: {} of unknown MSR {:#x}", m_id,
                        ctx.reason == KVM_EXIT_X86_WRMSR ? "write" : "read", msr.index);
    }
    return ExitOutcome::Resume;
}

bool VcpuExits::start_block(kvm::Vcpu& vcpu, bool interrupts_enabled)
{
    auto& xen = m_machine.xen();
    xen.vcpu(m_id).blocked = true;
    if (xen.wake_condition(m_id)) {
        xen.end_wait(m_id);
        return false;
    }
    if (!interrupts_enabled)
        return park();
    // With interrupts on, wait in KVM's halt state: a LAPIC interrupt wakes it in the kernel, an
    // event through a kick.
    (void)vcpu.set_mp_state(KVM_MP_STATE_HALTED);
    return false;
}

bool VcpuExits::park()
{
    // The pause reason first, the condition after: a waker makes the condition true, then clears
    // the reason (Machine::kick_vcpu), so one of the two always sees the other.
    m_parked = true;
    m_machine.runner(m_id).add_pause(kvm::kPauseBlocked);
    if (!m_machine.xen().wake_condition(m_id))
        return true;
    m_machine.runner(m_id).remove_pause(kvm::kPauseBlocked);
    m_machine.xen().end_wait(m_id);
    m_parked = false;
    return false;
}

bool VcpuExits::update_blocked(kvm::Vcpu& vcpu)
{
    auto& xen = m_machine.xen();
    if (!xen.vcpu(m_id).blocked)
        return true;
    if (xen.wake_condition(m_id)) {
        xen.end_wait(m_id);
        if (m_parked)
            m_machine.runner(m_id).remove_pause(kvm::kPauseBlocked);
        else
            (void)vcpu.set_mp_state(KVM_MP_STATE_RUNNABLE);
        m_parked = false;
        return true;
    }
    if (m_parked)
        return !park(); // woken for something else: back to the park
    // Woken inside KVM by a LAPIC interrupt, and it has run since.
    auto mp = vcpu.mp_state();
    if (mp && *mp == KVM_MP_STATE_RUNNABLE)
        xen.end_wait(m_id);
    return true;
}

bool VcpuExits::before_entry(kvm::Vcpu& vcpu)
{
    // An AP that INIT-SIPI started inside KVM shows up here the first time it leaves the guest.
    m_machine.vcpu_entering(m_id, vcpu);
    if (!update_blocked(vcpu))
        return false;
    auto& xen = m_machine.xen();
    if (auto vector = xen.direct_upcall_due(m_id))
        inject_direct_upcall(vcpu, *vector);
    return true;
}

void VcpuExits::inject_direct_upcall(kvm::Vcpu& vcpu, uint8_t vector)
{
    auto regs = vcpu.regs();
    auto ev = vcpu.events();
    if (!regs || !ev)
        return;
    bool interruptible = ((*regs)->rflags & x86::kRflagsIf) && !ev->interrupt.injected && !ev->interrupt.shadow
        && !ev->exception.injected && !ev->nmi.injected;
    if (!interruptible) {
        // No interrupt-window exit exists for this path with an in-kernel LAPIC: look again soon.
        arm_retry();
        return;
    }
    ev->interrupt.injected = 1;
    ev->interrupt.nr = vector;
    ev->interrupt.soft = 0;
    ev->flags &= KVM_VCPUEVENT_VALID_SHADOW;
    if (auto r = vcpu.set_events(*ev); !r) {
        logger()->error("{}", r.error().message);
        return;
    }
    auto mp = vcpu.mp_state();
    if (mp && *mp == KVM_MP_STATE_HALTED)
        (void)vcpu.set_mp_state(KVM_MP_STATE_RUNNABLE);
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

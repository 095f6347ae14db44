// The KVM vCPU as hv:: sees it: KVM_RUN exits decoded into hv::Exit (and completed from it), the
// neutral register view, and event injection.
#include <algorithm>
#include <cstring>

#include "kvm/vcpu.h"

namespace xkvm::kvm {

Result<x86::Regs> Vcpu::regs()
{
    kvm_regs* r = TRY(raw_regs());
    x86::Regs out;
    uint64_t gprs[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                          r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
    std::memcpy(out.gpr, gprs, sizeof(gprs));
    out.rip = r->rip;
    out.rflags = r->rflags;
    return out;
}

Status Vcpu::set_regs(const x86::Regs& in)
{
    kvm_regs* r = TRY(raw_regs());
    __u64* gprs[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
                        &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
    for (int i = 0; i < 16; ++i)
        *gprs[i] = in.gpr[i];
    r->rip = in.rip;
    r->rflags = in.rflags;
    m_regs_dirty = true;
    return {};
}

void Vcpu::complete_exit()
{
    // Port and MMIO data were completed in place (the exit points into kvm_run); an MSR answer
    // goes back through kvm_run's msr block.
    if (m_exit.kind == hv::Exit::Kind::MsrRead || m_exit.kind == hv::Exit::Kind::MsrWrite) {
        m_run->msr.data = m_exit.msr.value;
        m_run->msr.error = m_exit.msr.fault ? 1 : 0;
    }
}

void Vcpu::decode_exit(uint32_t reason)
{
    using Kind = hv::Exit::Kind;
    m_exit.detail.clear();
    switch (reason) {
    case KVM_EXIT_IO: {
        auto& io = m_run->io;
        m_exit.kind = Kind::PortIo;
        m_exit.io = { io.port, io.size, io.direction == KVM_EXIT_IO_OUT, io.count,
                      reinterpret_cast<uint8_t*>(m_run) + io.data_offset };
        return;
    }
    case KVM_EXIT_MMIO: {
        auto& mmio = m_run->mmio;
        m_exit.kind = Kind::Mmio;
        m_exit.mmio = { mmio.phys_addr, static_cast<uint8_t>(std::min<uint32_t>(mmio.len, sizeof(mmio.data))),
                        mmio.is_write != 0, mmio.data };
        return;
    }
    case KVM_EXIT_X86_RDMSR:
    case KVM_EXIT_X86_WRMSR:
        m_exit.kind = reason == KVM_EXIT_X86_RDMSR ? Kind::MsrRead : Kind::MsrWrite;
        m_exit.msr = { m_run->msr.index, m_run->msr.data, true };
        return;
    case KVM_EXIT_HLT: m_exit.kind = Kind::Halt; return;
    case KVM_EXIT_DEBUG: m_exit.kind = Kind::Debug; return;
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN: m_exit.kind = Kind::Interrupted; return;
    case KVM_EXIT_SHUTDOWN: m_exit.kind = Kind::TripleFault; return;
    case KVM_EXIT_SYSTEM_EVENT:
        if (m_run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
            m_exit.kind = Kind::PowerOff;
            return;
        }
        if (m_run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
            m_exit.kind = Kind::Reset;
            return;
        }
        m_exit.kind = Kind::Failed;
        m_exit.detail = fmt::format("system event {}", m_run->system_event.type);
        return;
    case KVM_EXIT_INTERNAL_ERROR:
        m_exit.kind = Kind::Failed;
        m_exit.detail = fmt::format("KVM internal error {} (ndata {} data0 {:#x})", m_run->internal.suberror,
                                    m_run->internal.ndata, m_run->internal.ndata ? m_run->internal.data[0] : 0);
        return;
    case KVM_EXIT_FAIL_ENTRY:
        m_exit.kind = Kind::Failed;
        m_exit.detail = fmt::format("VM entry failed (reason {:#x})", m_run->fail_entry.hardware_entry_failure_reason);
        return;
    default:
        m_exit.kind = Kind::Failed;
        m_exit.detail = fmt::format("unexpected KVM exit {}", reason);
        return;
    }
}

hv::Exit& Vcpu::failed(std::string detail)
{
    m_exit.kind = hv::Exit::Kind::Failed;
    m_exit.detail = std::move(detail);
    return m_exit;
}

hv::Exit& Vcpu::run()
{
    if (m_exit.kind == hv::Exit::Kind::Introspect) {
        auto answered = finish_intercepted();
        if (!answered)
            return failed(answered.error().message);
        if (*answered)
            return m_exit;
    }
    complete_exit();
    bool rerun = true;
    while (rerun) {
        auto reason = run_once();
        if (!reason)
            return failed(reason.error().message);
        decode_exit(*reason);
        rerun = false;
        if (auto intercepted = intercept_exit(*reason, &rerun); !intercepted)
            return failed(intercepted.error().message);
    }
    return m_exit;
}

Result<bool> Vcpu::try_inject_interrupt(uint8_t vector)
{
    kvm_regs* regs = TRY(raw_regs());
    kvm_vcpu_events ev = TRY(events());
    bool interruptible = (regs->rflags & x86::kRflagsIf) && !ev.interrupt.injected && !ev.interrupt.shadow
        && !ev.exception.injected && !ev.nmi.injected;
    if (!interruptible)
        return false;
    ev.interrupt.injected = 1;
    ev.interrupt.nr = vector;
    ev.interrupt.soft = 0;
    ev.flags &= KVM_VCPUEVENT_VALID_SHADOW;
    TRY(set_events(ev));
    if (TRY(mp_state()) == hv::MpState::Halted)
        TRY(set_mp_state(hv::MpState::Runnable));
    return true;
}

} // namespace xkvm::kvm

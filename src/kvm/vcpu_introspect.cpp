// The KVM vCPU's side of introspection (issue 10): which KVM exits become Introspect exits, and
// how each answer finishes the exit KVM left pending (see introspect_plan.h for the table).
//
// Unlike emu, KVM reports a write to a write-limited page after its emulator decoded and retired
// the instruction: RIP is past it, the length and linear address are unknown (insn_len 0,
// gla_valid false), and only the written bytes wait in kvm_run. INT3 and WRMSR exit with RIP on
// the instruction, as on emu.
#include <algorithm>
#include <sys/ioctl.h>

#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "x86/page_walk.h"

namespace xkvm::kvm {

namespace {

constexpr uint32_t kBpVector = 3;
constexpr uint8_t kInt3Len = 1;
constexpr uint8_t kWrmsrLen = 2;

hv::IntrospectExit mem_write(uint64_t gpa)
{
    hv::IntrospectExit x;
    x.what = hv::IntrospectExit::What::MemAccess;
    x.gpa = gpa;
    x.access = hv::kAccessWrite;
    return x;
}

} // namespace

Status Vcpu::set_intercepts(const hv::Intercepts& in)
{
    constexpr uint8_t kCrs = (1u << 0) | (1u << 3) | (1u << 4);
    if (in.cr_writes & ~kCrs)
        return fail(EINVAL, "CR write intercepts {:#x}: only CR0, CR3 and CR4 can be intercepted", in.cr_writes);
    if (in.cr_writes || in.descriptor_access)
        return fail(ENOSYS, "KVM sends neither CR writes nor descriptor-table instructions to user space");
    if (in.breakpoints && !m_vm.system().has(KVM_CAP_SET_GUEST_DEBUG))
        return fail(ENOSYS, "this KVM has no guest debugging (KVM_CAP_SET_GUEST_DEBUG), so no INT3 intercepts");
    TRY(m_vm.set_msr_intercepts(this, in.msr_writes));
    m_intercepts = in;
    std::sort(m_intercepts.msr_writes.begin(), m_intercepts.msr_writes.end());
    return apply_guest_debug();
}

Status Vcpu::finish_intercept(hv::InterceptFinish how)
{
    if (m_exit.kind != hv::Exit::Kind::Introspect || m_finish)
        return fail(EINVAL, "no intercepted instruction to finish (once, after an Introspect exit)");
    m_finish = how;
    return {};
}

Result<uint64_t> Vcpu::translate(uint64_t linear)
{
    // Our own walk of the guest's tables with the control registers as they stand (a change made
    // since the exit included), as on emu: it sets no accessed bits, and a nested host's
    // KVM_TRANSLATE was seen to walk as if paging were off (../shared/kvm-here.md).
    const memory::Physmap* mem = m_vm.physmap();
    if (!mem)
        return fail(EFAULT, "vcpu {}: no guest memory to translate {:#x} through", m_id, linear);
    auto gpa = x86::translate(*mem, TRY(paging_mode()), linear, x86::Access {});
    if (!gpa)
        return fail(EFAULT, "vcpu {}: {:#x} does not translate", m_id, linear);
    return uint64_t { *gpa };
}

Result<bool> Vcpu::intercept_exit(uint32_t reason, bool* rerun)
{
    using Kind = hv::Exit::Kind;
    if (reason == KVM_EXIT_MMIO && m_exit.mmio.write && m_vm.write_limited(m_exit.mmio.gpa)) {
        m_exit.introspect = mem_write(m_exit.mmio.gpa);
        m_exit.kind = Kind::Introspect;
        return true;
    }
    if (reason == KVM_EXIT_DEBUG && m_intercepts.breakpoints && m_run->debug.arch.exception == kBpVector) {
        m_exit.introspect = {};
        m_exit.introspect.what = hv::IntrospectExit::What::Breakpoint;
        m_exit.introspect.insn_len = kInt3Len;
        m_exit.kind = Kind::Introspect;
        return true;
    }
    if (reason != KVM_EXIT_X86_WRMSR || m_run->msr.reason != KVM_MSR_EXIT_REASON_FILTER)
        return false;
    uint32_t index = m_exit.msr.index;
    if (!std::binary_search(m_intercepts.msr_writes.begin(), m_intercepts.msr_writes.end(), index)) {
        // Filtered for another vCPU: written as if unfiltered, or handed on as an unknown MSR.
        std::pair<uint32_t, uint64_t> write { index, m_exit.msr.value };
        if (set_msrs(std::span(&write, 1))) {
            m_run->msr.error = 0;
            *rerun = true;
        }
        return false;
    }
    hv::IntrospectExit& x = m_exit.introspect;
    x = {};
    x.what = hv::IntrospectExit::What::MsrWrite;
    x.insn_len = kWrmsrLen;
    x.index = index;
    x.new_value = m_exit.msr.value;
    x.old_value = get_msr(index).value_or(0); // an MSR KVM does not know reads as 0
    m_intercept_rip = TRY(raw_regs())->rip;
    m_exit.kind = Kind::Introspect;
    return true;
}

Result<bool> Vcpu::finish_intercepted()
{
    hv::InterceptFinish how = m_finish.value_or(hv::InterceptFinish::Retry);
    m_finish.reset();
    const hv::IntrospectExit x = m_exit.introspect;
    switch (finish_action(x.what, how)) {
    case FinishAction::HoldWrite:
        if (m_vm.write_limited(x.gpa))
            return true; // the same exit again
        [[fallthrough]];
    case FinishAction::WriteToRam:
        TRY(m_vm.write_ram(x.gpa, std::span<const uint8_t>(m_run->mmio.data, std::min<uint32_t>(m_run->mmio.len, 8))));
        break;
    case FinishAction::DropWrite:
    case FinishAction::Reenter: break;
    case FinishAction::InjectBp: TRY(inject_breakpoint()); break;
    case FinishAction::SkipBp: {
        x86::Regs regs = TRY(this->regs());
        regs.rip += kInt3Len;
        TRY(set_regs(regs));
        break;
    }
    case FinishAction::ApplyMsr: {
        std::pair<uint32_t, uint64_t> write { x.index, x.new_value };
        if (!set_msrs(std::span(&write, 1))) {
            // KVM refused it (an MSR only user space knows, or a value it rejects): the VMM
            // decides, as for any WRMSR KVM cannot handle.
            m_exit.kind = hv::Exit::Kind::MsrWrite;
            m_exit.msr = { x.index, x.new_value, true };
            return true;
        }
        m_run->msr.error = 0;
        break;
    }
    case FinishAction::DropMsr: m_run->msr.error = 0; break;
    case FinishAction::RetryMsr: {
        // KVM only completes a WRMSR exit by retiring or faulting it: retire it unwritten without
        // entering the guest, then put RIP back on it.
        m_run->msr.error = 0;
        TRY(complete_without_running());
        x86::Regs regs = TRY(this->regs());
        regs.rip = m_intercept_rip;
        TRY(set_regs(regs));
        m_exit.kind = hv::Exit::Kind::Interrupted;
        return true;
    }
    }
    m_exit.kind = hv::Exit::Kind::Interrupted; // nothing left for complete_exit()
    return false;
}

Status Vcpu::complete_without_running()
{
    // KVM completes a pending exit before it looks at immediate_exit. Interrupted is what the
    // caller sees, so a kick that lands meanwhile is looked at by its runner all the same.
    uint8_t before = __atomic_exchange_n(&m_run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    auto r = run_once();
    if (!before)
        clear_immediate_exit();
    TRY(r);
    return {};
}

Status Vcpu::inject_breakpoint()
{
    // RIP stays on INT3: KVM injects #BP as a software exception with the length it saved at
    // the exit, so the guest's handler sees the return address after INT3.
    kvm_vcpu_events ev = TRY(events());
    ev.exception.injected = 1;
    ev.exception.nr = kBpVector;
    ev.exception.has_error_code = 0;
    ev.exception.error_code = 0;
    ev.flags &= KVM_VCPUEVENT_VALID_SHADOW;
    return set_events(ev);
}

} // namespace xkvm::kvm

#include "vmm/monitor_events.h"

namespace xkvm::vmm {

using namespace vmevent;

namespace {

uint32_t ctrlreg_index(uint32_t cr)
{
    switch (cr) {
    case 0: return kCtrlCr0;
    case 3: return kCtrlCr3;
    default: return kCtrlCr4;
    }
}

uint8_t desc_table(hv::IntrospectExit::Table t)
{
    switch (t) {
    case hv::IntrospectExit::Table::Idtr: return kDescIdtr;
    case hv::IntrospectExit::Table::Gdtr: return kDescGdtr;
    case hv::IntrospectExit::Table::Ldtr: return kDescLdtr;
    case hv::IntrospectExit::Table::Tr: return kDescTr;
    }
    return kDescIdtr;
}

uint32_t mem_flags(uint8_t refused)
{
    uint32_t flags = 0;
    if (refused & hv::kAccessRead)
        flags |= kMemR;
    if (refused & hv::kAccessWrite)
        flags |= kMemW;
    if (refused & hv::kAccessExec)
        flags |= kMemX;
    return flags;
}

} // namespace

uint64_t rip_linear(const x86::CpuState& s)
{
    if ((s.efer & x86::kEferLma) && s.cs.l)
        return s.rip;
    return (s.cs.base + s.rip) & 0xffffffffull;
}

Event introspect_request(uint32_t vcpu, const x86::CpuState& state, const hv::IntrospectExit& x, uint64_t rip_gfn)
{
    using What = hv::IntrospectExit::What;
    switch (x.what) {
    case What::MemAccess: {
        Event e = make_request(kReasonMemAccess, vcpu, state);
        e.u.mem_access.gfn = x.gpa >> 12;
        e.u.mem_access.offset = x.gpa & 0xfff;
        e.u.mem_access.flags = mem_flags(x.access);
        if (x.gla_valid) {
            // Xen tells a walk's access to a page-table entry from the access it was walking for.
            e.u.mem_access.gla = x.gla;
            e.u.mem_access.flags |= kMemGlaValid | (x.in_walk ? kMemFaultInGpt : kMemFaultWithGla);
        }
        return e;
    }
    case What::Breakpoint: {
        Event e = make_request(kReasonSoftwareBreakpoint, vcpu, state);
        e.u.software_breakpoint.gfn = rip_gfn;
        e.u.software_breakpoint.insn_length = x.insn_len;
        return e;
    }
    case What::CrWrite: {
        Event e = make_request(kReasonWriteCtrlreg, vcpu, state);
        e.u.write_ctrlreg.index = ctrlreg_index(x.index);
        e.u.write_ctrlreg.new_value = x.new_value;
        e.u.write_ctrlreg.old_value = x.old_value;
        return e;
    }
    case What::MsrWrite: {
        Event e = make_request(kReasonMovToMsr, vcpu, state);
        e.u.mov_to_msr.msr = x.index;
        e.u.mov_to_msr.new_value = x.new_value;
        e.u.mov_to_msr.old_value = x.old_value;
        return e;
    }
    case What::Descriptor: {
        Event e = make_request(kReasonDescriptorAccess, vcpu, state);
        e.u.desc_access.descriptor = desc_table(x.table);
        e.u.desc_access.is_write = x.table_write;
        return e;
    }
    }
    return make_request(kReasonUnknown, vcpu, state);
}

Event singlestep_request(uint32_t vcpu, const x86::CpuState& state, uint64_t rip_gfn)
{
    Event e = make_request(kReasonSinglestep, vcpu, state);
    e.u.singlestep.gfn = rip_gfn;
    return e;
}

Event guest_request(uint32_t vcpu, const x86::CpuState& state, uint64_t call_rax)
{
    Event e = make_request(kReasonGuestRequest, vcpu, state);
    e.regs.x86.rax = call_rax;
    return e;
}

hv::InterceptFinish finish_for(Verdict verdict, hv::IntrospectExit::What what)
{
    using What = hv::IntrospectExit::What;
    switch (verdict) {
    case Verdict::Emulate: return hv::InterceptFinish::Execute;
    case Verdict::Deny: return hv::InterceptFinish::Skip;
    case Verdict::Retry: break;
    }
    return what == What::MemAccess || what == What::Breakpoint ? hv::InterceptFinish::Retry
                                                                 : hv::InterceptFinish::Execute;
}

// xenmem_access_t's values 0..7 are its R (1), W (2) and X (4) bits, in the order of hv::kAccess*.
static_assert(uint32_t { hv::kAccessRead } == kXenmemR && uint32_t { hv::kAccessWrite } == kXenmemW &&
              uint32_t { hv::kAccessExec } == kXenmemX);

Result<uint8_t> page_access_of(uint32_t a)
{
    if (a <= kXenmemRwx)
        return static_cast<uint8_t>(a);
    if (a == kXenmemDefault)
        return uint8_t { hv::kAccessAll };
    if (a == kXenmemRx2rw || a == kXenmemN2rwx)
        return fail(EOPNOTSUPP, "xenmem access {} changes by itself; not supported", a);
    return fail(EINVAL, "xenmem access {} does not exist", a);
}

XenmemAccess xenmem_access_of(uint8_t bits)
{
    return static_cast<XenmemAccess>(bits & hv::kAccessAll);
}

} // namespace xkvm::vmm

// MSRs and the fast system-call instructions (SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS).
#include "emu/cpu/ops.h"

namespace xkvm::emu {

namespace {

enum : uint32_t {
    kMsrTsc = 0x10, kMsrSysenterCs = 0x174, kMsrSysenterEsp = 0x175, kMsrSysenterEip = 0x176,
    kMsrMiscEnable = 0x1a0, kMsrPat = 0x277, kMsrEfer = 0xc0000080, kMsrStar = 0xc0000081,
    kMsrLstar = 0xc0000082, kMsrCstar = 0xc0000083, kMsrSfmask = 0xc0000084,
    kMsrFsBase = 0xc0000100, kMsrGsBase = 0xc0000101, kMsrKernelGsBase = 0xc0000102,
    kMsrTscAux = 0xc0000103,
};

// The MSRs the CPU itself holds: a pointer to the value, or nullptr.
uint64_t* own_msr(CpuImpl& c, uint32_t index)
{
    EmuMsrs& m = c.st.msr;
    switch (index) {
    case kMsrSysenterCs: return &m.sysenter_cs;
    case kMsrSysenterEsp: return &m.sysenter_esp;
    case kMsrSysenterEip: return &m.sysenter_eip;
    case kMsrMiscEnable: return &m.misc_enable;
    case kMsrPat: return &m.pat;
    case kMsrStar: return &m.star;
    case kMsrLstar: return &m.lstar;
    case kMsrCstar: return &m.cstar;
    case kMsrSfmask: return &m.sfmask;
    case kMsrFsBase: return &c.st.seg[SegFs].base;
    case kMsrGsBase: return &c.st.seg[SegGs].base;
    case kMsrKernelGsBase: return &m.kernel_gs_base;
    case kMsrTscAux: return &m.tsc_aux;
    case kMsrEfer: return &c.st.efer;
    default: return nullptr;
    }
}

void write_efer(CpuImpl& c, uint64_t v)
{
    uint64_t allowed = kEferSce | x86::kEferLme | x86::kEferLma | x86::kEferNx;
    if (v & ~allowed)
        c.fault(kGp, 0);
    bool paging = c.st.cr0 & x86::kCr0Pg;
    if (paging && ((v ^ c.st.efer) & x86::kEferLme))
        c.fault(kGp, 0);
    v = (v & ~x86::kEferLma) | (c.st.efer & x86::kEferLma);
    c.st.efer = v;
    c.update_modes();
    c.flush_tlb();
}

} // namespace

void op_rdmsr(CpuImpl& c, const Insn&)
{
    require_cpl0(c);
    uint32_t index = uint32_t(c.st.gpr[x86::Rcx]);
    uint64_t v = 0;
    if (index == kMsrTsc) {
        v = c.bus.tsc();
    } else if (uint64_t* p = own_msr(c, index)) {
        v = *p;
    } else {
        MsrResult r = c.bus.local_msr(index, v, false);
        if (r == MsrResult::Fault)
            c.fault(kGp, 0);
        if (r == MsrResult::NotMine) {
            if (!c.m_msr_completed) {
                CpuExit e;
                e.kind = CpuExit::Kind::MsrRead;
                e.msr = index;
                c.exit_before_commit(e);
            }
            if (c.m_msr_fault)
                c.fault(kGp, 0);
            v = c.m_msr_value;
        }
    }
    c.set_reg(x86::Rax, 4, v);
    c.set_reg(x86::Rdx, 4, v >> 32);
}

// A monitored WRMSR exits before the value is checked, with the value the guest would read now
// (0 for an MSR only the VMM knows).
static void intercept_msr(CpuImpl& c, const Insn& i, uint32_t index, uint64_t v)
{
    if (!c.intercepts_msr(index))
        return;
    CpuExit::Introspect x;
    x.what = CpuExit::Introspect::What::MsrWrite;
    x.index = index;
    x.new_value = v;
    if (index == kMsrTsc)
        x.old_value = c.bus.tsc();
    else if (uint64_t* p = own_msr(c, index))
        x.old_value = *p;
    else if (c.bus.local_msr(index, x.old_value, false) != MsrResult::Ok)
        x.old_value = 0;
    c.intercept(x, i.length);
}

void op_wrmsr(CpuImpl& c, const Insn& i)
{
    require_cpl0(c);
    uint32_t index = uint32_t(c.st.gpr[x86::Rcx]);
    uint64_t v = (c.st.gpr[x86::Rax] & 0xffffffffull) | (c.st.gpr[x86::Rdx] << 32);
    intercept_msr(c, i, index, v);
    switch (index) {
    case kMsrTsc: return; // the bus owns the guest TSC
    case kMsrEfer: write_efer(c, v); return;
    case kMsrFsBase: case kMsrGsBase: case kMsrKernelGsBase: case kMsrLstar: case kMsrCstar:
    case kMsrSysenterEsp: case kMsrSysenterEip:
        if (!canonical(v))
            c.fault(kGp, 0);
        break;
    case kMsrTscAux:
        if (v >> 32)
            c.fault(kGp, 0);
        break;
    default: break;
    }
    if (uint64_t* p = own_msr(c, index)) {
        *p = v;
        return;
    }
    MsrResult r = c.bus.local_msr(index, v, true);
    if (r == MsrResult::Fault)
        c.fault(kGp, 0);
    if (r == MsrResult::NotMine) {
        if (!c.m_msr_completed) {
            CpuExit e;
            e.kind = CpuExit::Kind::MsrWrite;
            e.msr = index;
            e.value = v;
            c.exit_before_commit(e);
        }
        if (c.m_msr_fault)
            c.fault(kGp, 0);
    }
}

namespace {

// The flat segments SYSCALL/SYSENTER and their returns load without reading the GDT.
x86::Segment flat_code(uint16_t sel, uint8_t dpl, bool long64)
{
    x86::Segment s;
    s.selector = sel;
    s.base = 0;
    s.limit = 0xffffffff;
    s.type = 0xb;
    s.s = true;
    s.dpl = dpl;
    s.present = true;
    s.l = long64;
    s.db = !long64;
    s.g = true;
    return s;
}

x86::Segment flat_stack(uint16_t sel, uint8_t dpl)
{
    x86::Segment s = flat_code(sel, dpl, false);
    s.type = 0x3;
    return s;
}

} // namespace

void op_syscall(CpuImpl& c, const Insn&)
{
    if (!(c.st.efer & kEferSce) || !c.protected_mode())
        c.fault(kUd);
    uint16_t sel = uint16_t(c.st.msr.star >> 32) & 0xfffc;
    if (c.long_mode()) {
        c.st.gpr[x86::Rcx] = c.m_next;
        c.st.gpr[x86::R11] = c.st.rflags & ~kRflagsRf;
        uint64_t target = c.long64() ? c.st.msr.lstar : c.st.msr.cstar;
        c.st.rflags = (c.st.rflags & ~(c.st.msr.sfmask | kRflagsRf)) | x86::kRflagsReserved1;
        c.st.seg[SegCs] = flat_code(sel, 0, true);
        c.st.seg[SegSs] = flat_stack(uint16_t(sel + 8), 0);
        c.update_modes();
        c.m_next = target;
    } else {
        c.st.gpr[x86::Rcx] = c.m_next & 0xffffffffull;
        c.st.rflags &= ~(kRflagsVm | kRflagsIf | kRflagsRf);
        c.st.seg[SegCs] = flat_code(sel, 0, false);
        c.st.seg[SegSs] = flat_stack(uint16_t(sel + 8), 0);
        c.update_modes();
        c.m_next = c.st.msr.star & 0xffffffffull;
    }
}

void op_sysret(CpuImpl& c, const Insn& i)
{
    if (!(c.st.efer & kEferSce) || !c.protected_mode())
        c.fault(kUd);
    if (c.cpl() != 0)
        c.fault(kGp, 0);
    uint16_t base = uint16_t(c.st.msr.star >> 48);
    bool to64 = c.long_mode() && i.rex_w;
    if (to64 && !canonical(c.st.gpr[x86::Rcx]))
        c.fault(kGp, 0);
    if (c.long_mode()) {
        c.st.rflags = (c.st.gpr[x86::R11] & 0x3c7fd7) | x86::kRflagsReserved1;
        c.m_next = to64 ? c.st.gpr[x86::Rcx] : c.st.gpr[x86::Rcx] & 0xffffffffull;
        c.st.seg[SegCs] = flat_code(uint16_t((to64 ? base + 16 : base) | 3), 3, to64);
    } else {
        c.st.rflags |= kRflagsIf;
        c.m_next = c.st.gpr[x86::Rcx] & 0xffffffffull;
        c.st.seg[SegCs] = flat_code(uint16_t(base | 3), 3, false);
    }
    c.st.seg[SegSs] = flat_stack(uint16_t((base + 8) | 3), 3);
    c.update_modes();
}

void op_sysenter(CpuImpl& c, const Insn&)
{
    uint16_t sel = uint16_t(c.st.msr.sysenter_cs) & 0xfffc;
    if (!c.protected_mode() || sel == 0)
        c.fault(kGp, 0);
    c.st.rflags &= ~(kRflagsVm | kRflagsIf | kRflagsRf);
    c.st.seg[SegCs] = flat_code(sel, 0, c.long_mode());
    c.st.seg[SegSs] = flat_stack(uint16_t(sel + 8), 0);
    c.update_modes();
    c.st.gpr[x86::Rsp] = c.long_mode() ? c.st.msr.sysenter_esp : c.st.msr.sysenter_esp & 0xffffffffull;
    c.m_next = c.long_mode() ? c.st.msr.sysenter_eip : c.st.msr.sysenter_eip & 0xffffffffull;
}

void op_sysexit(CpuImpl& c, const Insn& i)
{
    uint16_t sel = uint16_t(c.st.msr.sysenter_cs) & 0xfffc;
    if (!c.protected_mode() || sel == 0 || c.cpl() != 0)
        c.fault(kGp, 0);
    bool to64 = c.long_mode() && i.rex_w;
    if (to64 && (!canonical(c.st.gpr[x86::Rdx]) || !canonical(c.st.gpr[x86::Rcx])))
        c.fault(kGp, 0);
    c.st.seg[SegCs] = flat_code(uint16_t((sel + (to64 ? 32 : 16)) | 3), 3, to64);
    c.st.seg[SegSs] = flat_stack(uint16_t((sel + (to64 ? 40 : 24)) | 3), 3);
    c.update_modes();
    c.st.gpr[x86::Rsp] = to64 ? c.st.gpr[x86::Rcx] : c.st.gpr[x86::Rcx] & 0xffffffffull;
    c.m_next = to64 ? c.st.gpr[x86::Rdx] : c.st.gpr[x86::Rdx] & 0xffffffffull;
}

void op_swapgs(CpuImpl& c, const Insn&)
{
    if (!c.long64())
        c.fault(kUd);
    require_cpl0(c);
    std::swap(c.st.seg[SegGs].base, c.st.msr.kernel_gs_base);
}

} // namespace xkvm::emu

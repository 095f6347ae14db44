// EmuState <-> the backend-neutral x86::CpuState.
#include "emu/cpu/cpu_state.h"

namespace xkvm::emu {

x86::CpuState to_cpu_state(const EmuState& st)
{
    x86::CpuState cs;
    for (unsigned r = 0; r < 16; ++r)
        cs.gpr[r] = st.gpr[r];
    cs.rip = st.rip;
    cs.rflags = st.rflags;
    cs.es = st.seg[SegEs];
    cs.cs = st.seg[SegCs];
    cs.ss = st.seg[SegSs];
    cs.ds = st.seg[SegDs];
    cs.fs = st.seg[SegFs];
    cs.gs = st.seg[SegGs];
    cs.tr = st.tr;
    cs.ldt = st.ldt;
    cs.gdt = st.gdt;
    cs.idt = st.idt;
    cs.cr0 = st.cr0;
    cs.cr2 = st.cr2;
    cs.cr3 = st.cr3;
    cs.cr4 = st.cr4;
    cs.efer = st.efer;
    return cs;
}

void apply_cpu_state(EmuState& st, const x86::CpuState& cs)
{
    for (unsigned r = 0; r < 16; ++r)
        st.gpr[r] = cs.gpr[r];
    st.rip = cs.rip;
    st.rflags = cs.rflags | x86::kRflagsReserved1;
    st.seg[SegEs] = cs.es;
    st.seg[SegCs] = cs.cs;
    st.seg[SegSs] = cs.ss;
    st.seg[SegDs] = cs.ds;
    st.seg[SegFs] = cs.fs;
    st.seg[SegGs] = cs.gs;
    st.tr = cs.tr;
    st.ldt = cs.ldt;
    st.gdt = cs.gdt;
    st.idt = cs.idt;
    st.cr0 = cs.cr0;
    st.cr2 = cs.cr2;
    st.cr3 = cs.cr3;
    st.cr4 = cs.cr4;
    st.efer = cs.efer;
    // CPL is CS.DPL here; x86::CpuState callers describe flat segments whose DPL is the CPL.
    st.interrupt_shadow = false;
    st.run_state = RunState::Running;
}

} // namespace xkvm::emu

#include "x86/cpu_state.h"

namespace xkvm::x86 {

namespace {

Segment flat(uint16_t selector, uint8_t type, bool code64 = false)
{
    Segment s;
    s.base = 0;
    s.limit = 0xffffffff;
    s.selector = selector;
    s.type = type;
    s.present = true;
    s.s = true;
    s.db = !code64;
    s.l = code64;
    s.g = true;
    return s;
}

constexpr uint8_t kCodeExecReadAccessed = 0xb;
constexpr uint8_t kDataReadWriteAccessed = 0x3;
constexpr uint8_t kTss32Busy = 0xb;

Segment boot_tss()
{
    Segment tr;
    tr.limit = 0x67;
    tr.selector = 0x20;
    tr.type = kTss32Busy;
    tr.present = true;
    return tr;
}

Segment unusable_ldt()
{
    Segment ldt;
    ldt.type = 0x2;
    ldt.unusable = true;
    return ldt;
}

} // namespace

CpuState flat_protected_mode_32(uint32_t eip, uint32_t ebx)
{
    CpuState st;
    st.rip = eip;
    st.gpr[Rbx] = ebx;
    st.rflags = kRflagsReserved1;
    st.cs = flat(0x10, kCodeExecReadAccessed);
    st.ds = st.es = st.fs = st.gs = st.ss = flat(0x18, kDataReadWriteAccessed);
    st.tr = boot_tss();
    st.ldt = unusable_ldt();
    st.cr0 = kCr0Pe | kCr0Et;
    return st;
}

CpuState flat_long_mode_64()
{
    CpuState st;
    st.cs = flat(0x10, kCodeExecReadAccessed, true);
    st.ds = st.es = st.fs = st.gs = st.ss = flat(0x18, kDataReadWriteAccessed);
    st.tr = boot_tss();
    st.ldt = unusable_ldt();
    st.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
    st.cr4 = kCr4Pae;
    st.efer = kEferLme | kEferLma;
    return st;
}

} // namespace xkvm::x86

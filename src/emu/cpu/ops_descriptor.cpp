// LAR, LSL, VERR, VERW: descriptor queries that report through ZF instead of faulting.
#include "emu/cpu/alu.h"
#include "emu/cpu/ops.h"

namespace xkvm::emu {

namespace {

// The descriptor for `sel` when it is within its table; false otherwise (ZF=0 for the caller).
bool peek(CpuImpl& c, uint16_t sel, Descriptor& d)
{
    if (!c.protected_mode() || (c.st.rflags & kRflagsVm))
        c.fault(kUd);
    if ((sel & 0xfffc) == 0)
        return false;
    bool ldt = sel & 4;
    if (ldt && c.st.ldt.unusable)
        return false;
    uint32_t limit = ldt ? c.st.ldt.limit : c.st.gdt.limit;
    uint64_t base = ldt ? c.st.ldt.base : c.st.gdt.base;
    if ((sel & 0xfff8u) + 7u > limit)
        return false;
    d.raw = c.read_lin(base + (sel & 0xfff8u), 8, kAccSystem);
    return true;
}

// Whether the current privilege may see the descriptor (conforming code is always visible).
bool visible(const CpuImpl& c, uint16_t sel, const Descriptor& d)
{
    if (d.is_code() && (d.type() & 4))
        return true;
    return d.dpl() >= std::max<uint8_t>(c.cpl(), sel & 3);
}

bool system_type_ok(const CpuImpl& c, uint8_t type, bool for_limit)
{
    if (c.long_mode())
        return type == 2 || type == 9 || type == 0xb || (!for_limit && type == 0xc);
    switch (type) {
    case 1: case 2: case 3: case 9: case 0xb: return true;
    case 4: case 5: case 0xc: return !for_limit;
    default: return false;
    }
}

void set_zf(CpuImpl& c, bool on)
{
    if (on)
        c.st.rflags |= alu::kZf;
    else
        c.st.rflags &= ~alu::kZf;
}

void query(CpuImpl& c, const Insn& i, bool limit)
{
    uint16_t sel = uint16_t(c.get(i, 1));
    Descriptor d;
    bool ok = peek(c, sel, d) && (d.s() || system_type_ok(c, d.type(), limit)) && visible(c, sel, d);
    set_zf(c, ok);
    if (!ok)
        return;
    if (limit)
        c.set(i, 0, d.limit());
    else
        c.set(i, 0, (d.raw >> 32) & 0x00f0ff00u);
}

void verify(CpuImpl& c, const Insn& i, bool write)
{
    uint16_t sel = uint16_t(c.get(i, 0));
    Descriptor d;
    bool ok = peek(c, sel, d) && d.s() && visible(c, sel, d);
    if (ok)
        ok = write ? (d.is_data() && (d.type() & 2)) : (d.is_data() || (d.type() & 2));
    set_zf(c, ok);
}

} // namespace

void op_lar(CpuImpl& c, const Insn& i) { query(c, i, false); }
void op_lsl(CpuImpl& c, const Insn& i) { query(c, i, true); }
void op_verr(CpuImpl& c, const Insn& i) { verify(c, i, false); }
void op_verw(CpuImpl& c, const Insn& i) { verify(c, i, true); }

} // namespace xkvm::emu

// System instructions: control and debug registers, descriptor-table registers, CLI/STI, CPUID,
// the TSC, hypercalls.
#include "emu/cpu/ops.h"

namespace xkvm::emu {

void require_cpl0(CpuImpl& c)
{
    if (c.protected_mode() && (c.cpl() != 0 || (c.st.rflags & kRflagsVm)))
        c.fault(kGp, 0);
}

static void require_umip(CpuImpl& c)
{
    if (c.m_has_umip && (c.st.cr4 & kCr4Umip) && c.cpl() > 0)
        c.fault(kGp, 0);
}

void op_cli(CpuImpl& c, const Insn&)
{
    if (c.protected_mode() && c.cpl() > c.iopl())
        c.fault(kGp, 0);
    c.st.rflags &= ~kRflagsIf;
}

void op_sti(CpuImpl& c, const Insn&)
{
    if (c.protected_mode() && c.cpl() > c.iopl())
        c.fault(kGp, 0);
    if (!(c.st.rflags & kRflagsIf))
        c.m_stop.set_shadow = true;
    c.st.rflags |= kRflagsIf;
}

// A monitored control-register write exits before it is checked or applied.
static void intercept_cr(CpuImpl& c, const Insn& i, unsigned n, uint64_t old_value, uint64_t new_value)
{
    if (!c.intercepts_cr(n))
        return;
    CpuExit::Introspect x;
    x.what = CpuExit::Introspect::What::CrWrite;
    x.index = n;
    x.old_value = old_value;
    x.new_value = new_value;
    c.intercept(x, i.length);
}

// A monitored descriptor-table instruction exits once its privilege checks passed.
static void intercept_table(CpuImpl& c, const Insn& i, CpuExit::Introspect::Table table, bool write)
{
    if (!c.m_intercepts.descriptors || !c.intercepting())
        return;
    CpuExit::Introspect x;
    x.what = CpuExit::Introspect::What::Descriptor;
    x.table = table;
    x.table_write = write;
    c.intercept(x, i.length);
}

static void write_cr0(CpuImpl& c, uint64_t v)
{
    v |= x86::kCr0Et;
    if ((v >> 32) || ((v & x86::kCr0Pg) && !(v & x86::kCr0Pe)) || ((v & kCr0Nw) && !(v & kCr0Cd)))
        c.fault(kGp, 0);
    bool pg_on = (v & x86::kCr0Pg) && !(c.st.cr0 & x86::kCr0Pg);
    bool pg_off = !(v & x86::kCr0Pg) && (c.st.cr0 & x86::kCr0Pg);
    if (pg_on && (c.st.efer & x86::kEferLme)) {
        if (!(c.st.cr4 & x86::kCr4Pae))
            c.fault(kGp, 0);
        c.st.efer |= x86::kEferLma;
    }
    if (pg_off) {
        if (c.long64())
            c.fault(kGp, 0);
        c.st.efer &= ~x86::kEferLma;
    }
    if (!(v & x86::kCr0Pe) && c.long_mode())
        c.fault(kGp, 0);
    c.st.cr0 = v;
    c.update_modes();
    c.flush_tlb();
}

static void write_cr4(CpuImpl& c, uint64_t v)
{
    uint64_t allowed = 0x7ff & ~kCr4Umip; // VME..OSXMMEXCPT
    allowed |= (1u << 16) | (1u << 18); // FSGSBASE, OSXSAVE
    if (c.m_has_umip)
        allowed |= kCr4Umip;
    if (c.m_has_smep)
        allowed |= kCr4Smep;
    if (c.m_has_smap)
        allowed |= kCr4Smap;
    if ((v & ~allowed) || (c.long_mode() && !(v & x86::kCr4Pae)))
        c.fault(kGp, 0);
    c.st.cr4 = v;
    c.flush_tlb();
}

void op_mov_cr(CpuImpl& c, const Insn& i)
{
    require_cpl0(c);
    bool to_cr = i.op[0].kind == OpKind::Cr;
    unsigned n = to_cr ? i.op[0].reg : i.op[1].reg;
    unsigned size = c.long64() ? 8 : 4;
    if (!to_cr) {
        uint64_t v = n == 0 ? c.st.cr0 : n == 2 ? c.st.cr2 : n == 3 ? c.st.cr3 : n == 4 ? c.st.cr4 : 0;
        if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8)
            c.fault(kUd);
        c.set_reg(i.op[0].reg, size, v); // CR8 reads as TPR 0 for now
        return;
    }
    uint64_t v = c.reg(i.op[1].reg, size);
    if (n == 0 || n == 3 || n == 4)
        intercept_cr(c, i, n, n == 0 ? c.st.cr0 : n == 3 ? c.st.cr3 : c.st.cr4, v);
    switch (n) {
    case 0: write_cr0(c, v); break;
    case 2: c.st.cr2 = v; break;
    case 3:
        if (c.long_mode() && (v >> c.m_maxphys) != 0)
            c.fault(kGp, 0);
        c.st.cr3 = v;
        c.flush_tlb();
        break;
    case 4: write_cr4(c, v); break;
    case 8:
        if (v > 15)
            c.fault(kGp, 0);
        break;
    default: c.fault(kUd);
    }
}

void op_mov_dr(CpuImpl& c, const Insn& i)
{
    require_cpl0(c);
    bool to_dr = i.op[0].kind == OpKind::Dr;
    unsigned n = to_dr ? i.op[0].reg : i.op[1].reg;
    if (n > 7 || ((n == 4 || n == 5) && (c.st.cr4 & (1u << 3))))
        c.fault(kUd);
    if (n == 4 || n == 5)
        n += 2;
    unsigned size = c.long64() ? 8 : 4;
    if (!to_dr) {
        c.set_reg(i.op[0].reg, size, c.st.dr[n]);
        return;
    }
    uint64_t v = c.reg(i.op[1].reg, size);
    if ((n == 6 || n == 7) && (v >> 32))
        c.fault(kGp, 0);
    if (n == 6)
        v = (v & 0x1e00f) | 0xffff0ff0;
    else if (n == 7)
        v = (v & ~0xd800ull) | 0x400;
    c.st.dr[n] = v;
}

void op_clts(CpuImpl& c, const Insn& i)
{
    require_cpl0(c);
    intercept_cr(c, i, 0, c.st.cr0, c.st.cr0 & ~kCr0Ts);
    c.st.cr0 &= ~kCr0Ts;
}

void op_lmsw(CpuImpl& c, const Insn& i)
{
    require_cpl0(c);
    uint64_t v = c.get(i, 0) & 0xf;
    uint64_t cr0 = (c.st.cr0 & ~0xeull) | (v & 0xe) | (c.st.cr0 & 1) | (v & 1); // PE cannot be cleared
    intercept_cr(c, i, 0, c.st.cr0, cr0);
    write_cr0(c, cr0);
}

void op_smsw(CpuImpl& c, const Insn& i)
{
    require_umip(c);
    c.set(i, 0, i.op[0].kind == OpKind::Mem ? c.st.cr0 & 0xffff : c.st.cr0);
}

void op_invlpg(CpuImpl& c, const Insn&)
{
    require_cpl0(c);
    c.flush_tlb();
}

void op_wbinvd(CpuImpl& c, const Insn&) { require_cpl0(c); }

static void load_table_register(CpuImpl& c, const Insn& i, x86::DescriptorTable& t, CpuExit::Introspect::Table which)
{
    require_cpl0(c);
    intercept_table(c, i, which, true);
    uint64_t a = c.ea(i);
    uint16_t limit = uint16_t(c.read_mem(i.mem.seg, a, 2));
    uint64_t base = c.read_mem(i.mem.seg, (a + 2) & size_mask(i.asize), c.long64() ? 8 : 4);
    if (c.long64() && !canonical(base))
        c.fault(kGp, 0);
    if (!c.long64() && i.osize == 2)
        base &= 0xffffff;
    t.limit = limit;
    t.base = base;
}

static void store_table_register(CpuImpl& c, const Insn& i, const x86::DescriptorTable& t,
                                 CpuExit::Introspect::Table which)
{
    require_umip(c);
    intercept_table(c, i, which, false);
    uint64_t a = c.ea(i);
    unsigned bsize = c.long64() ? 8 : 4;
    c.linear(i.mem.seg, a, 2 + bsize, true);
    c.write_mem(i.mem.seg, a, 2, t.limit);
    c.write_mem(i.mem.seg, (a + 2) & size_mask(i.asize), bsize, t.base);
}

using Table = CpuExit::Introspect::Table;
void op_lgdt(CpuImpl& c, const Insn& i) { load_table_register(c, i, c.st.gdt, Table::Gdtr); }
void op_lidt(CpuImpl& c, const Insn& i) { load_table_register(c, i, c.st.idt, Table::Idtr); }
void op_sgdt(CpuImpl& c, const Insn& i) { store_table_register(c, i, c.st.gdt, Table::Gdtr); }
void op_sidt(CpuImpl& c, const Insn& i) { store_table_register(c, i, c.st.idt, Table::Idtr); }

static void store_selector(CpuImpl& c, const Insn& i, uint16_t sel, Table which)
{
    if (!c.protected_mode() || (c.st.rflags & kRflagsVm))
        c.fault(kUd);
    require_umip(c);
    intercept_table(c, i, which, false);
    if (i.op[0].kind == OpKind::Mem)
        c.write_mem(i.mem.seg, c.ea(i), 2, sel);
    else
        c.set(i, 0, sel);
}

void op_sldt(CpuImpl& c, const Insn& i) { store_selector(c, i, c.st.ldt.selector, Table::Ldtr); }
void op_str(CpuImpl& c, const Insn& i) { store_selector(c, i, c.st.tr.selector, Table::Tr); }

void op_lldt(CpuImpl& c, const Insn& i)
{
    if (!c.protected_mode() || (c.st.rflags & kRflagsVm))
        c.fault(kUd);
    require_cpl0(c);
    intercept_table(c, i, Table::Ldtr, true);
    uint16_t sel = uint16_t(c.get(i, 0));
    if ((sel & 0xfffc) == 0) {
        c.st.ldt = x86::Segment{};
        c.st.ldt.selector = sel;
        c.st.ldt.unusable = true;
        return;
    }
    if (sel & 4)
        c.fault(kGp, sel & 0xfffc);
    Descriptor d = c.read_descriptor(sel, kGp);
    if (d.s() || d.type() != 2)
        c.fault(kGp, sel & 0xfffc);
    if (!d.present())
        c.fault(kNp, sel & 0xfffc);
    c.set_segment_from_descriptor(c.st.ldt, sel, d);
}

void op_ltr(CpuImpl& c, const Insn& i)
{
    if (!c.protected_mode() || (c.st.rflags & kRflagsVm))
        c.fault(kUd);
    require_cpl0(c);
    intercept_table(c, i, Table::Tr, true);
    uint16_t sel = uint16_t(c.get(i, 0));
    if ((sel & 0xfffc) == 0 || (sel & 4))
        c.fault(kGp, sel & 0xfffc);
    Descriptor d = c.read_descriptor(sel, kGp);
    bool available = d.type() == 9 || (!c.long_mode() && d.type() == 1);
    if (d.s() || !available)
        c.fault(kGp, sel & 0xfffc);
    if (!d.present())
        c.fault(kNp, sel & 0xfffc);
    c.write_lin(c.st.gdt.base + (sel & 0xfff8) + 5, 1, ((d.raw >> 40) & 0xff) | 2, kAccWrite | kAccSystem);
    d.raw |= 2ull << 40; // busy
    c.set_segment_from_descriptor(c.st.tr, sel, d);
}

void op_cpuid(CpuImpl& c, const Insn&)
{
    CpuidRegs r = c.bus.cpuid(uint32_t(c.st.gpr[x86::Rax]), uint32_t(c.st.gpr[x86::Rcx]));
    c.set_reg(x86::Rax, 4, r.eax);
    c.set_reg(x86::Rbx, 4, r.ebx);
    c.set_reg(x86::Rcx, 4, r.ecx);
    c.set_reg(x86::Rdx, 4, r.edx);
}

void op_rdtsc(CpuImpl& c, const Insn&)
{
    if ((c.st.cr4 & kCr4Tsd) && c.cpl() > 0 && c.protected_mode())
        c.fault(kGp, 0);
    uint64_t t = c.bus.tsc();
    c.set_reg(x86::Rax, 4, t);
    c.set_reg(x86::Rdx, 4, t >> 32);
}

void op_rdtscp(CpuImpl& c, const Insn& i)
{
    op_rdtsc(c, i);
    c.set_reg(x86::Rcx, 4, c.st.msr.tsc_aux);
}

void op_vmcall(CpuImpl& c, const Insn&)
{
    // The VMM checks CPL (Xen rejects hypercalls from CPL>0 with -EPERM-like results).
    c.post_exit(CpuExit{ CpuExit::Kind::Hypercall });
}

} // namespace xkvm::emu

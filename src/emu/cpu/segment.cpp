// Segmentation and privilege: descriptor loads with their checks, far JMP/CALL/RET, IRET.
// Not modelled: call gates, task switches, virtual-8086 mode (all raise #GP).
#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

inline constexpr uint64_t kFlagsAll = 0x257fd5; // CF PF AF ZF SF TF IF DF OF IOPL NT RF AC ID

Descriptor CpuImpl::read_descriptor(uint16_t sel, uint8_t vector)
{
    bool ldt = sel & 4;
    uint64_t base = ldt ? st.ldt.base : st.gdt.base;
    uint32_t limit = ldt ? st.ldt.limit : st.gdt.limit;
    if (ldt && (st.ldt.unusable || !st.ldt.present))
        fault(vector, sel & 0xfffc);
    uint32_t index = sel & 0xfff8;
    if (index + 7u > limit)
        fault(vector, sel & 0xfffc);
    Descriptor d;
    d.raw = read_lin(base + index, 8, kAccSystem);
    if (long_mode() && !d.s() && index + 15u <= limit)
        d.raw_hi = read_lin(base + index + 8, 8, kAccSystem);
    return d;
}

void CpuImpl::set_segment_from_descriptor(x86::Segment& s, uint16_t sel, const Descriptor& d)
{
    s.selector = sel;
    s.base = d.base();
    if (!d.s() && long_mode())
        s.base |= (d.raw_hi & 0xffffffffull) << 32;
    s.limit = d.limit();
    s.type = d.type();
    s.s = d.s();
    s.dpl = d.dpl();
    s.present = d.present();
    s.db = d.db();
    s.l = d.l();
    s.g = d.g();
    s.avl = (d.raw >> 52) & 1;
    s.unusable = false;
}

// Descriptor tables live in guest memory; the accessed bit is set there as the CPU does.
static void mark_accessed(CpuImpl& c, uint16_t sel, const Descriptor& d)
{
    if (d.type() & 1)
        return;
    uint64_t base = (sel & 4) ? c.st.ldt.base : c.st.gdt.base;
    c.write_lin(base + (sel & 0xfff8) + 5, 1, ((d.raw >> 40) & 0xff) | 1, kAccWrite | kAccSystem);
}

void CpuImpl::real_mode_segment(uint8_t seg, uint16_t sel)
{
    x86::Segment& s = st.seg[seg];
    s.selector = sel;
    s.base = uint64_t(sel) << 4;
    s.present = true;
    s.unusable = false;
    s.s = true;
    if (st.rflags & kRflagsVm) {
        s.limit = 0xffff;
        s.dpl = 3;
    }
    if (seg == SegCs || seg == SegSs)
        update_modes();
}

// The SS checks shared by MOV/POP SS, far RET and IRET to an outer level (for privilege `pl`).
static void load_ss_at(CpuImpl& c, uint16_t sel, uint8_t pl)
{
    if ((sel & 0xfffc) == 0) {
        if (!(c.long_mode() && c.long64() && pl != 3 && (sel & 3) == pl))
            c.fault(kGp, 0);
        x86::Segment& s = c.st.seg[SegSs];
        s = x86::Segment{};
        s.selector = sel;
        s.unusable = true;
        s.present = true;
        s.dpl = pl;
        s.s = true;
        s.type = 3;
        s.db = true;
        return;
    }
    Descriptor d = c.read_descriptor(sel, kGp);
    if ((sel & 3) != pl || !d.is_data() || !(d.type() & 2) || d.dpl() != pl)
        c.fault(kGp, sel & 0xfffc);
    if (!d.present())
        c.fault(kSs, sel & 0xfffc);
    mark_accessed(c, sel, d);
    c.set_segment_from_descriptor(c.st.seg[SegSs], sel, d);
}

void CpuImpl::load_segment(uint8_t seg, uint16_t sel)
{
    if (!protected_mode() || (st.rflags & kRflagsVm)) {
        real_mode_segment(seg, sel);
        return;
    }
    if (seg == SegCs)
        fault(kUd);
    if (seg == SegSs) {
        load_ss_at(*this, sel, cpl());
        update_modes();
        return;
    }
    x86::Segment& s = st.seg[seg];
    if ((sel & 0xfffc) == 0) {
        uint64_t base = s.base;
        s = x86::Segment{};
        s.selector = sel;
        s.unusable = true;
        if (long64()) // Intel keeps the base of a null FS/GS load in 64-bit mode
            s.base = (seg >= SegFs) ? base : 0;
        return;
    }
    Descriptor d = read_descriptor(sel, kGp);
    uint8_t rpl = sel & 3;
    if (!d.s() || (d.is_code() && !(d.type() & 2)))
        fault(kGp, sel & 0xfffc);
    bool conforming_code = d.is_code() && (d.type() & 4);
    if (!conforming_code && d.dpl() < std::max(cpl(), rpl))
        fault(kGp, sel & 0xfffc);
    if (!d.present())
        fault(kNp, sel & 0xfffc);
    mark_accessed(*this, sel, d);
    set_segment_from_descriptor(s, sel, d);
}

void CpuImpl::load_cs(uint16_t sel, const Descriptor& d, uint8_t new_cpl)
{
    mark_accessed(*this, sel, d);
    set_segment_from_descriptor(st.seg[SegCs], uint16_t((sel & 0xfffc) | new_cpl), d);
    st.seg[SegCs].dpl = new_cpl; // CPL lives in CS.DPL (conforming segments run at the caller's)
    update_modes();
}

// The descriptor checks of a far transfer to `sel` at privilege `rpl_limit` (JMP/CALL: CPL).
// A return to an outer privilege level loads CS and SS together: if either faults, both stay as
// they were.
static void load_outer_cs_ss(CpuImpl& c, uint16_t cs_sel, const Descriptor& d, uint8_t rpl, uint16_t ss_sel)
{
    x86::Segment saved_cs = c.st.seg[SegCs], saved_ss = c.st.seg[SegSs];
    try {
        c.load_cs(cs_sel, d, rpl);
        load_ss_at(c, ss_sel, rpl);
    } catch (const GuestFault&) {
        c.st.seg[SegCs] = saved_cs;
        c.st.seg[SegSs] = saved_ss;
        c.update_modes();
        throw;
    }
}

static Descriptor check_code_target(CpuImpl& c, uint16_t sel, bool is_return)
{
    if ((sel & 0xfffc) == 0)
        c.fault(kGp, 0);
    Descriptor d = c.read_descriptor(sel, kGp);
    uint8_t rpl = sel & 3;
    if (!d.is_code())
        c.fault(kGp, sel & 0xfffc); // call gates and TSS targets are not supported
    bool conforming = d.type() & 4;
    if (is_return) {
        if (rpl < c.cpl() || (conforming ? d.dpl() > rpl : d.dpl() != rpl))
            c.fault(kGp, sel & 0xfffc);
    } else if (conforming ? d.dpl() > c.cpl() : (rpl > c.cpl() || d.dpl() != c.cpl())) {
        c.fault(kGp, sel & 0xfffc);
    }
    if (!d.present())
        c.fault(kNp, sel & 0xfffc);
    if (c.long_mode() && d.l() && d.db())
        c.fault(kGp, sel & 0xfffc);
    return d;
}

static void check_target_offset(CpuImpl& c, const Descriptor& d, uint64_t off)
{
    if (c.long_mode() && d.l()) {
        if (!canonical(off))
            c.fault(kGp, 0);
    } else if (off > d.limit()) {
        c.fault(kGp, 0);
    }
}

void CpuImpl::far_jump(uint16_t sel, uint64_t off, bool call, unsigned osize)
{
    off &= size_mask(osize);
    if (!protected_mode() || (st.rflags & kRflagsVm)) {
        if (call) {
            push(st.seg[SegCs].selector, osize);
            push(m_next, osize);
        }
        real_mode_segment(SegCs, sel);
        m_next = off;
        return;
    }
    Descriptor d = check_code_target(*this, sel, false);
    check_target_offset(*this, d, off);
    if (call) {
        push(st.seg[SegCs].selector, osize);
        push(m_next, osize);
    }
    load_cs(sel, d, cpl());
    m_next = off;
}

// Segment registers the outer level may not see are nulled on a return to it.
static void null_inaccessible(CpuImpl& c)
{
    for (uint8_t seg : { SegEs, SegDs, SegFs, SegGs }) {
        x86::Segment& s = c.st.seg[seg];
        bool conforming_code = (s.type & 0xc) == 0xc;
        if (!s.unusable && !conforming_code && s.dpl < c.cpl()) {
            s.unusable = true;
            s.selector = 0;
            s.present = false;
        }
    }
}

void CpuImpl::far_return(unsigned osize, uint16_t extra)
{
    uint64_t mask = sp_mask();
    uint64_t sp = st.gpr[x86::Rsp] & mask;
    uint64_t off = read_mem(SegSs, sp, osize);
    uint16_t sel = uint16_t(read_mem(SegSs, (sp + osize) & mask, osize));
    if (!protected_mode() || (st.rflags & kRflagsVm)) {
        st.gpr[x86::Rsp] = (st.gpr[x86::Rsp] & ~mask) | ((sp + 2 * osize + extra) & mask);
        real_mode_segment(SegCs, sel);
        m_next = off;
        return;
    }
    Descriptor d = check_code_target(*this, sel, true);
    check_target_offset(*this, d, off);
    uint8_t rpl = sel & 3;
    if (rpl > cpl()) {
        uint64_t p = (sp + 2 * osize + extra) & mask;
        uint64_t new_sp = read_mem(SegSs, p, osize);
        uint16_t ss_sel = uint16_t(read_mem(SegSs, (p + osize) & mask, osize));
        load_outer_cs_ss(*this, sel, d, rpl, ss_sel);
        update_modes();
        st.gpr[x86::Rsp] = new_sp + extra;
        if (!long64())
            st.gpr[x86::Rsp] &= stack_size() == 4 ? 0xffffffffull : 0xffff;
        null_inaccessible(*this);
    } else {
        load_cs(sel, d, cpl());
        st.gpr[x86::Rsp] = (st.gpr[x86::Rsp] & ~mask) | ((sp + 2 * osize + extra) & mask);
    }
    m_next = off;
}

void CpuImpl::set_flags(uint64_t v, uint64_t writable)
{
    st.rflags = (st.rflags & ~writable) | (v & writable) | x86::kRflagsReserved1;
}

void CpuImpl::iret(unsigned osize)
{
    uint64_t mask = sp_mask();
    uint64_t sp = st.gpr[x86::Rsp] & mask;
    uint64_t ip = read_mem(SegSs, sp, osize);
    uint16_t sel = uint16_t(read_mem(SegSs, (sp + osize) & mask, osize));
    uint64_t flags = read_mem(SegSs, (sp + 2 * osize) & mask, osize);
    uint64_t width_mask = size_mask(osize);
    if (!protected_mode()) {
        st.gpr[x86::Rsp] = (st.gpr[x86::Rsp] & ~mask) | ((sp + 3 * osize) & mask);
        real_mode_segment(SegCs, sel);
        set_flags(flags, kFlagsAll & width_mask);
        m_next = ip;
        st.nmi_blocked = false;
        return;
    }
    if ((st.rflags & (kRflagsNt | kRflagsVm)) || (!long_mode() && (flags & kRflagsVm) && cpl() == 0))
        fault(kGp, 0); // task returns and virtual-8086 mode are not modelled
    Descriptor d = check_code_target(*this, sel, true);
    check_target_offset(*this, d, ip);
    uint8_t rpl = sel & 3;
    uint64_t writable = kFlagsAll & ~(kRflagsIopl | kRflagsIf);
    if (cpl() == 0)
        writable |= kRflagsIopl;
    if (cpl() <= iopl())
        writable |= kRflagsIf;
    writable &= width_mask;
    if (rpl > cpl() || long64()) {
        uint64_t p = (sp + 3 * osize) & mask;
        uint64_t new_sp = read_mem(SegSs, p, osize);
        uint16_t ss_sel = uint16_t(read_mem(SegSs, (p + osize) & mask, osize));
        uint8_t old_cpl = cpl();
        load_outer_cs_ss(*this, sel, d, rpl, ss_sel);
        set_flags(flags, writable);
        update_modes();
        st.gpr[x86::Rsp] = long64() || long_mode() ? new_sp : new_sp & (stack_size() == 4 ? 0xffffffffull : 0xffff);
        if (rpl > old_cpl)
            null_inaccessible(*this);
    } else {
        load_cs(sel, d, rpl);
        set_flags(flags, writable);
        st.gpr[x86::Rsp] = (st.gpr[x86::Rsp] & ~mask) | ((sp + 3 * osize) & mask);
    }
    m_next = ip;
    st.nmi_blocked = false;
}

} // namespace xkvm::emu

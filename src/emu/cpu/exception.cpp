// Event delivery: exceptions, NMI, external and software interrupts through the real-mode IVT,
// 32-bit and 64-bit IDT gates (with the TSS stack switch and IST), #DF and triple faults.
#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

namespace {

bool contributory(uint8_t v) { return v == kDe || (v >= kTs && v <= kGp); }

bool double_fault(uint8_t first, uint8_t second)
{
    if (contributory(first) && contributory(second))
        return true;
    return first == kPf && (second == kPf || contributory(second));
}

} // namespace

void CpuImpl::deliver_fault(const GuestFault& first)
{
    GuestFault f = first;
    const CpuExit before = m_exit;
    for (int attempt = 0; attempt < 4; ++attempt) {
        uint8_t prev = m_delivering;
        m_delivering = kNotDelivering;
        bool nested = prev != kNotDelivering;
        if (nested && prev == kDf) {
            m_stop.triple = true;
            return;
        }
        if (nested && prev != kSoftwareDelivery && double_fault(prev, f.vector))
            f = GuestFault{ kDf, true, 0 };
        try {
            deliver(f.vector, f.has_error, f.error, false, nested && prev != kSoftwareDelivery);
            return;
        } catch (const GuestFault& g) {
            f = g;
        } catch (const ExitSignal&) {
            hold_event(HeldEvent{ HeldEvent::Kind::Fault, f, prev, false }, before);
            return;
        }
    }
    m_stop.triple = true;
}

namespace {

struct DeliveryScope {
    bool& flag;
    bool saved;
    explicit DeliveryScope(bool& f) : flag(f), saved(f) { flag = true; }
    ~DeliveryScope() { flag = saved; }
};

// What an event is being delivered as, for the checks and error codes along the way.
struct Event {
    uint8_t vector;
    bool has_error;
    uint32_t error;
    bool software;
    uint32_t ext;       // the EXT bit of error codes raised while delivering
    uint32_t idt_error; // the error code naming the IDT entry
};

struct Target {
    Descriptor gate, cs;
    uint16_t sel;
    uint64_t offset;
    uint8_t new_cpl;
};

// The new stack: where the frame goes and the SS that comes with it.
struct Stack {
    uint64_t sp;
    x86::Segment ss;
    bool switched;
};

// Translates both ends of a write that event delivery is about to make, so that faults and page
// limits stop it before anything of the event is written.
void probe_write(CpuImpl& c, uint64_t lin, unsigned size, uint8_t acc, bool wrap32)
{
    uint64_t gpa;
    uint64_t last = lin + size - 1;
    c.translate(wrap32 ? lin & 0xffffffffull : lin, acc | kAccWrite, gpa);
    c.translate(wrap32 ? last & 0xffffffffull : last, acc | kAccWrite, gpa);
}

void deliver_real_mode(CpuImpl& c, const Event& ev)
{
    if (uint32_t(ev.vector) * 4 + 3 > c.st.idt.limit)
        c.fault(kGp, ev.idt_error);
    uint32_t entry = uint32_t(c.read_lin(c.st.idt.base + ev.vector * 4u, 4, kAccSystem));
    for (unsigned k = 1; k <= 3; ++k)
        probe_write(c, c.st.seg[SegSs].base + ((c.st.gpr[x86::Rsp] - 2 * k) & 0xffff), 2, kAccWrite, true);
    c.push(c.st.rflags & 0xffff, 2);
    c.push(c.st.seg[SegCs].selector, 2);
    c.push(c.st.rip & 0xffff, 2);
    c.real_mode_segment(SegCs, uint16_t(entry >> 16));
    c.st.rip = entry & 0xffff;
    c.st.rflags &= ~(kRflagsIf | kRflagsTf | kRflagsAc | kRflagsRf);
}

// Reads and checks the IDT gate and the code segment it names.
Target read_gate(CpuImpl& c, const Event& ev)
{
    unsigned size = c.long_mode() ? 16 : 8;
    if (uint32_t(ev.vector) * size + size - 1 > c.st.idt.limit)
        c.fault(kGp, ev.idt_error);
    Target t;
    uint64_t lo = c.read_lin(c.st.idt.base + ev.vector * size, 8, kAccSystem);
    uint64_t hi = c.long_mode() ? c.read_lin(c.st.idt.base + ev.vector * size + 8, 8, kAccSystem) : 0;
    t.gate = Descriptor{ lo, hi };
    uint8_t type = t.gate.type();
    bool valid = c.long_mode() ? (type == 0xe || type == 0xf) : (type == 0x6 || type == 0x7 || type == 0xe || type == 0xf);
    if (t.gate.s() || !valid) // task gates are not modelled: a bad gate
        c.fault(kGp, ev.idt_error);
    if (ev.software && t.gate.dpl() < c.cpl())
        c.fault(kGp, ev.idt_error);
    if (!t.gate.present())
        c.fault(kNp, ev.idt_error);
    t.sel = uint16_t(lo >> 16);
    t.offset = (lo & 0xffff) | ((lo >> 48) << 16) | ((hi & 0xffffffffull) << 32);
    if (!(type & 8))
        t.offset &= 0xffff;
    if ((t.sel & 0xfffc) == 0)
        c.fault(kGp, ev.ext);
    t.cs = c.read_descriptor(t.sel, kGp);
    uint32_t sel_error = (t.sel & 0xfffc) + ev.ext;
    if (!t.cs.is_code() || t.cs.dpl() > c.cpl() || (c.long_mode() && (!t.cs.l() || t.cs.db())))
        c.fault(kGp, sel_error);
    if (!t.cs.present())
        c.fault(kNp, sel_error);
    t.new_cpl = (t.cs.type() & 4) ? c.cpl() : t.cs.dpl();
    if (c.long_mode() && !canonical(t.offset))
        c.fault(kGp, ev.ext);
    return t;
}

// 64-bit: RSPn or ISTn from the TSS, aligned to 16; a privilege change loads a null SS.
Stack long_mode_stack(CpuImpl& c, const Event& ev, const Target& t)
{
    Stack s{ c.st.gpr[x86::Rsp], c.st.seg[SegSs], t.new_cpl < c.cpl() };
    uint8_t ist = uint8_t((t.gate.raw >> 32) & 7);
    if (ist || s.switched) {
        unsigned off = ist ? 0x24 + 8 * (ist - 1) : 4 + 8 * t.new_cpl;
        if (off + 7 > c.st.tr.limit)
            c.fault(kTs, (c.st.tr.selector & 0xfffc) + ev.ext);
        s.sp = c.read_lin(c.st.tr.base + off, 8, kAccSystem);
    }
    if (!canonical(s.sp))
        c.fault(kSs, ev.ext);
    s.sp &= ~0xfull;
    if (s.switched) {
        s.ss = x86::Segment{};
        s.ss.selector = t.new_cpl;
        s.ss.unusable = true;
        s.ss.dpl = t.new_cpl;
        s.ss.present = s.ss.s = true;
        s.ss.type = 3;
    }
    return s;
}

// 16/32-bit: SSn:ESPn from the TSS when the privilege changes.
Stack legacy_stack(CpuImpl& c, const Event& ev, const Target& t)
{
    Stack s{ c.st.gpr[x86::Rsp], c.st.seg[SegSs], t.new_cpl < c.cpl() };
    if (!s.switched)
        return s;
    bool tss32 = c.st.tr.type & 8;
    unsigned width = tss32 ? 4 : 2;
    unsigned off = tss32 ? 4 + 8 * t.new_cpl : 2 + 4 * t.new_cpl;
    if (off + 2 * width - 1 > c.st.tr.limit)
        c.fault(kTs, (c.st.tr.selector & 0xfffc) + ev.ext);
    s.sp = c.read_lin(c.st.tr.base + off, width, kAccSystem);
    uint16_t ss_sel = uint16_t(c.read_lin(c.st.tr.base + off + width, 2, kAccSystem));
    uint32_t err = (ss_sel & 0xfffc) + ev.ext;
    if ((ss_sel & 0xfffc) == 0 || (ss_sel & 3) != t.new_cpl)
        c.fault(kTs, err);
    Descriptor d = c.read_descriptor(ss_sel, kTs);
    if (!d.is_data() || !(d.type() & 2) || d.dpl() != t.new_cpl)
        c.fault(kTs, err);
    if (!d.present())
        c.fault(kSs, err);
    c.set_segment_from_descriptor(s.ss, ss_sel, d);
    return s;
}

// Writes the frame through the new stack with the handler's privilege; returns the new SP.
uint64_t push_frame(CpuImpl& c, const Event& ev, const Target& t, const Stack& s)
{
    uint64_t frame[6];
    unsigned n = 0;
    if (c.long_mode() || s.switched) {
        frame[n++] = c.st.seg[SegSs].selector;
        frame[n++] = c.st.gpr[x86::Rsp];
    }
    frame[n++] = c.st.rflags;
    frame[n++] = c.st.seg[SegCs].selector;
    frame[n++] = c.st.rip;
    if (ev.has_error)
        frame[n++] = ev.error;
    unsigned psize = c.long_mode() ? 8 : (t.gate.type() & 8) ? 4 : 2;
    uint64_t mask = c.long_mode() ? ~0ull : s.ss.db ? 0xffffffffull : 0xffff;
    uint8_t acc = t.new_cpl < 3 ? uint8_t(kAccWrite | kAccSystem) : uint8_t(kAccWrite);
    uint64_t sp = s.sp;
    uint64_t lins[6];
    for (unsigned k = 0; k < n; ++k) {
        sp = (sp - psize) & mask;
        if (!c.long_mode() && !s.ss.unusable && sp + psize - 1 > s.ss.limit)
            c.fault(kSs, ev.ext);
        lins[k] = c.long_mode() ? sp : (s.ss.base + sp) & 0xffffffffull;
        probe_write(c, lins[k], psize, acc, !c.long_mode());
    }
    // The accessed bit load_cs() sets is the last write of the delivery: probed with the frame.
    if (!(t.cs.type() & 1))
        probe_write(c, ((t.sel & 4) ? c.st.ldt.base : c.st.gdt.base) + (t.sel & 0xfff8) + 5, 1,
                    kAccWrite | kAccSystem, !c.long_mode());
    for (unsigned k = 0; k < n; ++k)
        c.write_lin(lins[k], psize, frame[k], acc);
    return sp;
}

} // namespace

void CpuImpl::deliver(uint8_t vector, bool has_error, uint32_t error, bool software, bool external)
{
    DeliveryScope scope(m_delivering_event);
    m_delivering = software ? kSoftwareDelivery : vector;
    m_event_delivered = true;
    uint32_t ext = external ? 1 : 0;
    Event ev{ vector, has_error, error, software, ext, uint32_t(vector) * 8 + 2 + ext };
    if (!protected_mode()) {
        deliver_real_mode(*this, ev);
    } else {
        Target t = read_gate(*this, ev);
        Stack s = long_mode() ? long_mode_stack(*this, ev, t) : legacy_stack(*this, ev, t);
        uint64_t sp = push_frame(*this, ev, t, s);
        uint64_t mask = long_mode() ? ~0ull : s.ss.db ? 0xffffffffull : 0xffff;
        st.seg[SegSs] = s.ss;
        st.gpr[x86::Rsp] = long_mode() ? sp : (st.gpr[x86::Rsp] & ~mask) | sp;
        load_cs(t.sel, t.cs, t.new_cpl);
        st.rip = t.offset;
        st.rflags &= ~(kRflagsTf | kRflagsNt | kRflagsRf | kRflagsVm);
        if (!(t.gate.type() & 1)) // an interrupt gate, not a trap gate
            st.rflags &= ~kRflagsIf;
        update_modes();
    }
    m_delivering = kNotDelivering;
}

} // namespace xkvm::emu

// The emulated CPU on hostile input: random bytes as code (and as exception handlers), at CPL0 or
// CPL3, in real mode, 16/32-bit protected mode (paging off, 32-bit, PAE) or 64-bit mode, with
// page tables and descriptor tables the input may corrupt. Every run must end in a guest-visible
// outcome (an exit the VMM handles, a triple fault, or the budget) without crashing the host.
// With flags bit 5, a monitor limits some of the pages the code, its tables and stacks live on,
// intercepts instructions, and answers each Introspect exit one way or another; a Retry under
// unchanged limits (and no new interrupts) must then stop at the same place with the same state
// and memory — an Introspect exit that had committed anything would not.
//
// Input: [mode][flags][n mutations][n x (offset16, value8)][monitor: 4 bytes if flags bit 5][code...]
#include <algorithm>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <vector>

#include "emu/cpu/cpu.h"

namespace {

using namespace xkvm::emu;

constexpr uint64_t kRam = 1 << 20;
constexpr uint64_t kMmio = 0xe0000;
constexpr uint64_t kGdt = 0x500, kTss = 0x600, kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000;
constexpr uint64_t kPt = 0x4000, kIdt = 0x6000, kCode = 0x10000, kHandler = 0x20000;

class FuzzBus : public CpuBus {
public:
    std::vector<uint8_t> ram = std::vector<uint8_t>(kRam);
    uint8_t* ram_page(uint64_t gpa, bool write) override
    {
        if (gpa >= kRam || (gpa & ~0xfffull) == kMmio)
            return nullptr;
        if (write && gpa == 0xf0000) // one ROM page
            return nullptr;
        // Any page handed out, not only for writes: page walks set A/D bits through the pointer
        // they read the entry with.
        m_handed_out.set(gpa >> 12);
        return ram.data() + gpa;
    }
    // Back to all zeros. The CPU reaches RAM only through pointers it got from ram_page() since
    // its last TLB flush (every input starts with one), and the harness writes only below kCode +
    // 0x8000 and the handler page, so zeroing those and the pages handed out is zeroing all (a
    // megabyte memset per input had been 7% of the run).
    void reset_ram()
    {
        for (uint64_t gpa = 0; gpa < kRam; gpa += 0x1000)
            if (m_handed_out.test(gpa >> 12) || gpa < 0x7000 || (gpa >= kCode && gpa < kCode + 0x8000) ||
                gpa == kHandler)
                std::memset(&ram[gpa], 0, 0x1000);
        m_handed_out.reset();
    }
    bool local_mmio(uint64_t gpa, void* data, unsigned size, bool write) override
    {
        if ((gpa & 0xfff) < 0x100 || write)
            return false;
        std::memset(data, 0x5a, size);
        return true;
    }
    bool local_pio(uint16_t port, void*, unsigned, bool) override { return port == 0x80; }
    MsrResult local_msr(uint32_t index, uint64_t& value, bool) override
    {
        value = 0;
        return index == 0x1b ? MsrResult::Ok : index == 0x1c ? MsrResult::Fault : MsrResult::NotMine;
    }
    CpuidRegs cpuid(uint32_t leaf, uint32_t) override
    {
        switch (leaf) {
        case 0: return { 7, 0, 0, 0 };
        case 7: return { 0, (1u << 7) | (1u << 20), 1u << 2, 0 };
        case 0x80000000: return { 0x80000008, 0, 0, 0 };
        case 0x80000008: return { 36, 0, 0, 0 };
        default: return { leaf, 0, 0, 0 };
        }
    }
    uint64_t tsc() override { return ++m_tsc; }
    uint8_t page_allow(uint64_t gpa) override
    {
        for (unsigned k = 0; k < kLimitable; ++k)
            if (m_limited >> k & 1 && gpa == kLimitablePages[k])
                return m_allow[k % 2];
        return kPageAll;
    }
    std::optional<uint8_t> acknowledge_interrupt() override
    {
        if (m_irqs == 0)
            return std::nullopt;
        --m_irqs;
        return uint8_t(0x20 + m_irqs);
    }
    unsigned m_irqs = 2;
    uint64_t m_tsc = 0;
    // The monitor's limits: bit k of m_limited limits kLimitablePages[k] to m_allow[k % 2].
    static constexpr unsigned kLimitable = 8;
    static constexpr uint64_t kLimitablePages[kLimitable] = { 0x0000, 0x1000, 0x4000, 0x6000,
                                                              0x7000, 0x8000, kCode, kHandler };
    uint8_t m_limited = 0;
    uint8_t m_allow[2] = { kPageAll, kPageAll };

private:
    std::bitset<kRam / 0x1000> m_handed_out;
};

void put64(FuzzBus& b, uint64_t a, uint64_t v) { std::memcpy(&b.ram[a], &v, 8); }

xkvm::x86::Segment flat(uint16_t sel, uint8_t type, bool l, uint8_t dpl, bool db = true)
{
    xkvm::x86::Segment s;
    s.selector = uint16_t(sel | dpl);
    s.limit = 0xffffffff;
    s.type = type;
    s.present = s.s = s.g = true;
    s.l = l;
    s.db = db && !l;
    s.dpl = dpl;
    return s;
}

void build_tables(FuzzBus& b, bool gates64)
{
    const uint64_t gdt[] = { 0, 0x00cf9b000000ffff, 0x00cf93000000ffff, 0x00cffb000000ffff, 0x00cff3000000ffff,
                             0x00af9b000000ffff, 0x00affb000000ffff, 0x0000890006000067, 0, 0x008f9b000000ffff };
    for (unsigned k = 0; k < 10; ++k)
        put64(b, kGdt + 8 * k, gdt[k]);
    put64(b, kTss + 4, 0x9000);
    put64(b, kTss + 0x24, 0xa000);
    b.ram[kTss + 8] = 0x10;
    for (unsigned v = 0; v < 256; ++v) {
        uint64_t h = kHandler + (v % 16) * 16;
        if (gates64) {
            put64(b, kIdt + v * 16, (h & 0xffff) | 0x28ull << 16 | uint64_t(v == 8) << 32 | 0xeeull << 40 | (h >> 16) << 48);
            put64(b, kIdt + v * 16 + 8, 0);
        } else {
            put64(b, kIdt + v * 8, (h & 0xffff) | 0x08ull << 16 | 0xeeull << 40 | (h >> 16) << 48);
        }
    }
    // 4-level and PAE: first 2 MiB through a page table, all user-writable.
    put64(b, kPml4, kPdpt | 7);
    put64(b, kPdpt, kPd | 7);
    put64(b, kPd, kPt | 7);
    for (unsigned k = 0; k < 256; ++k)
        put64(b, kPt + 8 * k, (uint64_t(k) << 12) | 7);
}

void setup_mode(Cpu& cpu, uint8_t mode, bool user)
{
    EmuState& st = cpu.state();
    uint8_t dpl = user ? 3 : 0;
    st.gdt = { kGdt, 0x4f };
    st.tr = flat(0x38, 0xb, false, 0);
    st.tr.s = false;
    st.tr.base = kTss;
    st.tr.limit = 0x67;
    st.tr.selector = 0x38;
    st.rip = kCode;
    st.gpr[4] = 0x8000;
    switch (mode % 6) {
    case 0: // real mode
        cpu.init_reset();
        cpu.start_at_sipi(uint8_t(kCode >> 12));
        st.idt = { 0, 0x3ff };
        return;
    case 1: // 16-bit protected mode
        st.cr0 = 0x11;
        st.seg[SegCs] = flat(0x48, 0xb, false, 0, false);
        st.seg[SegCs].limit = 0xfffff;
        st.seg[SegSs] = flat(0x10, 3, false, 0, false);
        for (uint8_t s : { SegDs, SegEs, SegFs, SegGs })
            st.seg[s] = flat(0x10, 3, false, 0);
        st.idt = { kIdt, 0x7ff };
        return;
    default: break;
    }
    bool is64 = mode % 6 == 5;
    st.cr0 = 0x11 | (mode % 6 >= 3 ? 0x80010000u : 0);
    st.cr4 = mode % 6 == 4 || is64 ? 0x20 : 0x10;
    st.cr3 = mode % 6 == 4 ? kPdpt : mode % 6 == 3 ? kPd : kPml4;
    st.efer = is64 ? 0xd01 : 0x801;
    st.seg[SegCs] = flat(is64 ? (user ? 0x30 : 0x28) : (user ? 0x18 : 0x08), 0xb, is64, dpl);
    for (uint8_t s : { SegDs, SegEs, SegFs, SegGs, SegSs })
        st.seg[s] = flat(user ? 0x20 : 0x10, 3, false, dpl);
    st.idt = { kIdt, uint16_t(is64 ? 0xfff : 0x7ff) };
    st.msr.lstar = kHandler;
    st.msr.star = 0x0020002800000000ull;
    st.msr.sysenter_cs = 0x08;
    st.msr.sysenter_eip = kHandler;
}

// The monitor of one input: which pages it limits (the GDT/TSS/IVT page, the page tables, the
// IDT, the stacks, the code and the handlers), what it intercepts, how it answers.
struct Monitor {
    bool on = false;
    uint8_t answers = 0; // 2 bits per Introspect exit: Retry, Execute, Skip, no answer
    unsigned exits = 0;

    void setup(FuzzBus& bus, Cpu& cpu, const uint8_t* m)
    {
        bus.m_limited = m[0];
        bus.m_allow[0] = m[1] & 7;
        bus.m_allow[1] = (m[1] >> 3) & 7;
        CpuIntercepts in;
        in.breakpoints = m[2] & 1;
        in.cr_writes = uint8_t((m[2] & 2 ? 1 : 0) | (m[2] & 4 ? 8 : 0) | (m[2] & 8 ? 16 : 0));
        in.descriptors = m[2] & 16;
        if (m[2] & 32)
            in.msr_writes = { 0x1b, 0x174, 0x176, 0xc0000080, 0xc0000082 };
        cpu.set_intercepts(std::move(in));
        answers = m[3];
        on = true;
    }
};

bool same_state(const EmuState& a, const EmuState& b)
{
    return std::memcmp(a.gpr, b.gpr, sizeof(a.gpr)) == 0 && a.rip == b.rip && a.rflags == b.rflags &&
           a.cr0 == b.cr0 && a.cr3 == b.cr3 && a.cr4 == b.cr4 && a.efer == b.efer &&
           a.seg[SegCs].selector == b.seg[SegCs].selector && a.seg[SegSs].selector == b.seg[SegSs].selector &&
           a.gdt.base == b.gdt.base && a.idt.base == b.idt.base && a.tr.selector == b.tr.selector &&
           a.nmi_blocked == b.nmi_blocked && a.interrupt_shadow == b.interrupt_shadow && a.run_state == b.run_state;
}

// After an Introspect exit: Retry with no interrupt able to arrive must stop at the same access
// with nothing changed.
void check_retry_changes_nothing(FuzzBus& bus, Cpu& cpu, const CpuExit& e)
{
    EmuState before = cpu.state();
    // Reused: a fresh megabyte per exit would be mapped, faulted in and unmapped again each time.
    static std::vector<uint8_t> ram;
    ram = bus.ram;
    unsigned irqs = bus.m_irqs;
    bus.m_irqs = 0;
    if (!cpu.finish_intercept(InterceptFinish::Retry))
        __builtin_trap();
    CpuExit again = cpu.run(250);
    bus.m_irqs = irqs;
    if (again.kind != CpuExit::Kind::Introspect || again.introspect.what != e.introspect.what ||
        again.gpa != e.gpa || again.introspect.access != e.introspect.access)
        __builtin_trap();
    if (!same_state(before, cpu.state()) || ram != bus.ram)
        __builtin_trap();
}

void answer(FuzzBus& bus, Cpu& cpu, Monitor& mon, const CpuExit& e)
{
    if (e.kind != CpuExit::Kind::Introspect) {
        if (cpu.finish_intercept(InterceptFinish::Retry))
            __builtin_trap(); // only an Introspect exit can be finished
        return;
    }
    if (!mon.on)
        __builtin_trap(); // no limits, no intercepts: no Introspect exit
    unsigned how = (mon.answers >> (2 * (mon.exits++ % 4))) & 3;
    if (how == 0) {
        check_retry_changes_nothing(bus, cpu, e);
        return; // (the second exit is left unanswered: the next run retries it)
    }
    if (how == 3)
        return;
    if (!cpu.finish_intercept(how == 1 ? InterceptFinish::Execute : InterceptFinish::Skip) ||
        cpu.finish_intercept(InterceptFinish::Retry))
        __builtin_trap(); // once per exit
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 3)
        return 0;
    // One bus and one CPU for the whole run: a fresh multi-megabyte allocation per input would
    // dominate. INIT and a full state load make every input start from the same architectural
    // state; the decode cache validates its entries against the bytes, so it may carry over.
    static FuzzBus bus;
    static Cpu cpu(bus);
    bus.reset_ram();
    bus.m_irqs = 2;
    cpu.init_reset();
    cpu.state() = EmuState{};
    uint8_t mode = data[0], flags = data[1];
    unsigned nmut = data[2] % 16;
    size_t pos = 3;
    build_tables(bus, mode % 6 == 5);
    if (mode % 6 == 3) { // 32-bit paging: a PSE directory over the same low memory
        for (uint32_t k = 0; k < 4; ++k) {
            uint32_t pde = (k << 22) | 0x87;
            std::memcpy(&bus.ram[kPd + 4 * k], &pde, 4);
        }
    }
    if (mode % 6 == 4) { // PAE: the PDPT holds bare present bits
        put64(bus, kPdpt, kPd | 1);
    }
    for (unsigned k = 0; k < nmut && pos + 3 <= size; ++k, pos += 3) {
        uint16_t off = uint16_t(data[pos] | data[pos + 1] << 8) % 0x7000;
        bus.ram[off] = data[pos + 2];
    }
    Monitor mon;
    bus.m_limited = 0;
    cpu.set_intercepts({});
    if ((flags & 32) && pos + 4 <= size) {
        mon.setup(bus, cpu, data + pos);
        pos += 4;
    }
    cpu.flush_tlb(); // the previous input's translations carry its limits
    size_t code = size - pos;
    std::memcpy(&bus.ram[kCode], data + pos, std::min<size_t>(code, 0x8000));
    std::memcpy(&bus.ram[kHandler], data + pos, std::min<size_t>(code, 0x1000));
    setup_mode(cpu, mode, flags & 1);
    if (flags & 2)
        cpu.state().rflags |= 0x200;
    if (flags & 4)
        cpu.state().rflags |= 0x100; // TF
    cpu.state_changed();
    if (flags & 8)
        cpu.raise_attention();
    // A few thousand instructions: random code mostly faults, and each fault is a delivery.
    for (int exits = 0; exits < 12; ++exits) {
        uint64_t before = cpu.instructions_retired();
        CpuExit e = cpu.run(250);
        if (cpu.instructions_retired() - before > 250)
            __builtin_trap(); // the budget is a promise to the VMM
        switch (e.kind) {
        case CpuExit::Kind::PortIn:
        case CpuExit::Kind::MmioRead: cpu.complete_read(0x1234); break;
        case CpuExit::Kind::MsrRead:
        case CpuExit::Kind::MsrWrite: cpu.complete_msr(7, exits & 1); break;
        case CpuExit::Kind::TripleFault: return 0;
        case CpuExit::Kind::Halt:
            if (flags & 16)
                cpu.deliver_nmi();
            cpu.raise_attention();
            break;
        default: break;
        }
        answer(bus, cpu, mon, e);
    }
    return 0;
}

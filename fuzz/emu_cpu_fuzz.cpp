// The emulated CPU on hostile input: random bytes as code (and as exception handlers), at CPL0 or
// CPL3, in real mode, 16/32-bit protected mode (paging off, 32-bit, PAE) or 64-bit mode, with
// page tables and descriptor tables the input may corrupt. Every run must end in a guest-visible
// outcome (an exit the VMM handles, a triple fault, or the budget) without crashing the host.
//
// Input: [mode][flags][n mutations][n x (offset16, value8)][code...]
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
        return ram.data() + gpa;
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
    std::optional<uint8_t> acknowledge_interrupt() override
    {
        if (m_irqs == 0)
            return std::nullopt;
        --m_irqs;
        return uint8_t(0x20 + m_irqs);
    }
    unsigned m_irqs = 2;
    uint64_t m_tsc = 0;
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
    std::memset(bus.ram.data(), 0, kRam);
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
    }
    return 0;
}

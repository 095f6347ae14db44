// Test fixture for the interpreter: a FakeBus (RAM vector, one MMIO page, a port log, a queue of
// interrupt vectors) and helpers that build GDT/IDT/TSS/page tables in guest RAM. Machine code in
// the tests is hand-encoded, with the assembly beside it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "emu/cpu/cpu.h"

namespace xkvm::emu::test {

inline constexpr uint64_t kRamSize = 16 << 20;
inline constexpr uint64_t kMmioPage = 0x800000; // inside the RAM range, but not RAM

// Guest-physical layout the helpers use.
inline constexpr uint64_t kGdt = 0x500, kTss = 0x600, kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000;
inline constexpr uint64_t kIdt = 0x4000, kCode = 0x10000, kHandlers = 0x20000, kUserStack = 0x70000;
inline constexpr uint64_t kKernelStack = 0x80000, kIstStack = 0x60000, kData = 0x100000;
// Selectors, as the test guests lay their GDT out.
inline constexpr uint16_t kKcode32 = 0x08, kKdata = 0x10, kUcode32 = 0x18, kUdata = 0x20;
inline constexpr uint16_t kKcode64 = 0x28, kUcode64 = 0x30, kTssSel = 0x38;

class FakeBus : public CpuBus {
public:
    // calloc: large zeroed blocks come straight from mmap, so untouched RAM costs nothing.
    uint8_t* ram = static_cast<uint8_t*>(std::calloc(kRamSize, 1));
    ~FakeBus() override { std::free(ram); }
    std::vector<std::pair<uint16_t, uint64_t>> port_writes;
    std::deque<uint8_t> pending_vectors;
    std::mutex lock;
    uint64_t tsc_value = 1000;
    bool smep = false, smap = false, umip = false;
    std::map<uint64_t, uint8_t> limits; // page gpa -> kPage* allowed (introspection)

    uint8_t* ram_page(uint64_t gpa, bool) override
    {
        if (gpa >= kRamSize || (gpa & ~0xfffull) == kMmioPage)
            return nullptr;
        return ram + (gpa & ~0xfffull);
    }
    uint8_t page_allow(uint64_t gpa) override
    {
        auto it = limits.find(gpa);
        return it == limits.end() ? uint8_t(kPageAll) : it->second;
    }
    bool local_mmio(uint64_t, void*, unsigned, bool) override { return false; }
    bool local_pio(uint16_t, void*, unsigned, bool) override { return false; }
    MsrResult local_msr(uint32_t, uint64_t&, bool) override { return MsrResult::NotMine; }
    CpuidRegs cpuid(uint32_t leaf, uint32_t) override
    {
        switch (leaf) {
        case 0: return { 7, 0x756e6547, 0x6c65746e, 0x49656e69 };
        case 7: return { 0, (smep ? 1u << 7 : 0) | (smap ? 1u << 20 : 0), umip ? 1u << 2 : 0, 0 };
        case 0x80000000: return { 0x80000008, 0, 0, 0 };
        case 0x80000008: return { 40, 0, 0, 0 };
        default: return {};
        }
    }
    uint64_t tsc() override { return tsc_value++; }
    std::optional<uint8_t> acknowledge_interrupt() override
    {
        std::lock_guard<std::mutex> g(lock);
        if (pending_vectors.empty())
            return std::nullopt;
        uint8_t v = pending_vectors.front();
        pending_vectors.pop_front();
        return v;
    }

    void load(uint64_t gpa, std::initializer_list<uint8_t> bytes) { std::memcpy(&ram[gpa], bytes.begin(), bytes.size()); }
    void put64(uint64_t gpa, uint64_t v) { std::memcpy(&ram[gpa], &v, 8); }
    void put32(uint64_t gpa, uint32_t v) { std::memcpy(&ram[gpa], &v, 4); }
    void put16(uint64_t gpa, uint16_t v) { std::memcpy(&ram[gpa], &v, 2); }
    uint64_t get64(uint64_t gpa) const { uint64_t v; std::memcpy(&v, &ram[gpa], 8); return v; }
    uint32_t get32(uint64_t gpa) const { uint32_t v; std::memcpy(&v, &ram[gpa], 4); return v; }
};

class CpuTest : public ::testing::Test {
public:
    FakeBus bus;
    std::unique_ptr<Cpu> cpu = std::make_unique<Cpu>(bus);
    EmuState& st() { return cpu->state(); }

    // The guests' GDT: flat 32-bit and 64-bit code, data, user variants, and a TSS at kTss.
    void write_gdt(bool tss64)
    {
        bus.put64(kGdt + 0x00, 0);
        bus.put64(kGdt + 0x08, 0x00cf9b000000ffffull);
        bus.put64(kGdt + 0x10, 0x00cf93000000ffffull);
        bus.put64(kGdt + 0x18, 0x00cffb000000ffffull);
        bus.put64(kGdt + 0x20, 0x00cff3000000ffffull);
        bus.put64(kGdt + 0x28, 0x00af9b000000ffffull);
        bus.put64(kGdt + 0x30, 0x00affb000000ffffull);
        uint64_t tss = 0x67 | (kTss & 0xffffff) << 16 | 0x89ull << 40;
        bus.put64(kGdt + 0x38, tss);
        bus.put64(kGdt + 0x40, 0);
        bus.put16(kTss + 0x66, 0x68); // I/O bitmap base past the limit: no bitmap, as the guests do
        if (tss64) {
            bus.put64(kTss + 4, kKernelStack); // RSP0
            bus.put64(kTss + 0x24, kIstStack);  // IST1
        } else {
            bus.put32(kTss + 4, uint32_t(kKernelStack)); // ESP0
            bus.put32(kTss + 8, kKdata);                  // SS0
        }
        st().gdt = { kGdt, 0x47 };
    }

    static x86::Segment flat(uint16_t sel, uint8_t type, bool l, uint8_t dpl)
    {
        x86::Segment s;
        s.selector = uint16_t(sel | dpl);
        s.limit = 0xffffffff;
        s.type = type;
        s.present = s.s = s.g = true;
        s.l = l;
        s.db = !l;
        s.dpl = dpl;
        return s;
    }

    void tr_loaded()
    {
        st().tr.selector = kTssSel;
        st().tr.base = kTss;
        st().tr.limit = 0x67;
        st().tr.type = 0xb;
        st().tr.present = true;
    }

    // 32-bit flat protected mode, paging off, CPL0, code at kCode.
    void flat32()
    {
        x86::CpuState cs = x86::flat_protected_mode_32(uint32_t(kCode), 0);
        apply_cpu_state(st(), cs);
        write_gdt(false);
        st().seg[SegCs] = flat(kKcode32, 0xb, false, 0);
        for (uint8_t s : { SegDs, SegEs, SegSs, SegFs, SegGs })
            st().seg[s] = flat(kKdata, 0x3, false, 0);
        tr_loaded();
        st().gpr[x86::Rsp] = kKernelStack;
        st().idt = { kIdt, 0x7ff };
        cpu->state_changed();
    }

    // 64-bit mode, 4-level paging identity-mapping the first 16 MiB with 2 MiB user pages.
    void write_page_tables()
    {
        bus.put64(kPml4, kPdpt | 7);
        bus.put64(kPdpt, kPd | 7);
        for (uint64_t k = 0; k < 8; ++k)
            bus.put64(kPd + 8 * k, (k << 21) | 0x87);
    }

    void long64()
    {
        write_page_tables();
        x86::CpuState cs = x86::flat_long_mode_64();
        apply_cpu_state(st(), cs);
        write_gdt(true);
        st().seg[SegCs] = flat(kKcode64, 0xb, true, 0);
        for (uint8_t s : { SegDs, SegEs, SegSs, SegFs, SegGs })
            st().seg[s] = flat(kKdata, 0x3, false, 0);
        tr_loaded();
        st().cr0 |= x86::kCr0Wp | x86::kCr0Pe;
        st().cr3 = kPml4;
        st().efer |= x86::kEferNx;
        st().rip = kCode;
        st().gpr[x86::Rsp] = kKernelStack;
        st().idt = { kIdt, 0xfff };
        cpu->state_changed();
    }

    void gate64(uint8_t vec, uint64_t handler, uint8_t dpl = 0, uint8_t ist = 0, uint8_t type = 0xe)
    {
        uint64_t lo = (handler & 0xffff) | uint64_t(kKcode64) << 16 | uint64_t(ist) << 32 |
                      uint64_t(0x80 | dpl << 5 | type) << 40 | ((handler >> 16) & 0xffff) << 48;
        bus.put64(kIdt + vec * 16, lo);
        bus.put64(kIdt + vec * 16 + 8, handler >> 32);
    }

    void gate32(uint8_t vec, uint32_t handler, uint8_t dpl = 0, uint8_t type = 0xe)
    {
        uint64_t lo = (handler & 0xffff) | uint64_t(kKcode32) << 16 | uint64_t(0x80 | dpl << 5 | type) << 40 |
                      uint64_t(handler >> 16) << 48;
        bus.put64(kIdt + vec * 8, lo);
    }

    CpuExit run(uint64_t budget = 100000) { return cpu->run(budget); }
};

// Introspection tests: page limits on the FakeBus, and running to an expected Introspect exit.
class IntrospectTest : public CpuTest {
public:
    void limit(uint64_t page, uint8_t allowed)
    {
        bus.limits[page] = allowed;
        cpu->flush_tlb();
    }
    void lift(uint64_t page)
    {
        bus.limits.erase(page);
        cpu->flush_tlb();
    }
    using What = CpuExit::Introspect::What;
    // Runs to the next exit, which must be Introspect of kind `what`.
    CpuExit::Introspect expect_intercept(What what, uint8_t insn_len)
    {
        CpuExit e = run();
        EXPECT_EQ(e.kind, CpuExit::Kind::Introspect);
        EXPECT_EQ(e.introspect.what, what);
        EXPECT_EQ(e.introspect.insn_len, insn_len);
        last_gpa = e.gpa;
        return e.introspect;
    }
    uint64_t last_gpa = 0;
};

} // namespace xkvm::emu::test

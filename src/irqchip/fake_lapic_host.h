// A LapicHost for tests: a settable clock, recorded IPIs and level EOIs, counted kicks.
#pragma once

#include <atomic>
#include <vector>

#include "irqchip/apic_bus.h"
#include "irqchip/ioapic.h"
#include "irqchip/lapic.h"

namespace xkvm::irqchip::test {

class FakeLapicHost : public LapicHost {
public:
    void send_ipi(const Ipi& ipi) override { ipis.push_back(ipi); }
    void eoi_level(uint8_t vector) override { level_eois.push_back(vector); }
    void kick() override { kicks.fetch_add(1); }
    uint64_t now_ns() override { return now; }
    // A 2 GHz TSC.
    uint64_t tsc_to_ns(uint64_t tsc) override { return tsc / 2; }

    uint64_t now = 1'000'000;
    std::vector<Ipi> ipis;
    std::vector<uint8_t> level_eois;
    std::atomic<uint64_t> kicks { 0 };
};

// The registers the tests poke, by xAPIC offset.
constexpr uint32_t kId = 0x20, kVersion = 0x30, kTpr = 0x80, kPpr = 0xa0, kEoi = 0xb0, kLdr = 0xd0;
constexpr uint32_t kDfr = 0xe0, kSvr = 0xf0, kIsr = 0x100, kTmr = 0x180, kIrr = 0x200, kEsr = 0x280;
constexpr uint32_t kIcrLow = 0x300, kIcrHigh = 0x310, kLvtTimer = 0x320, kLvtLint0 = 0x350;
constexpr uint32_t kLvtLint1 = 0x360, kLvtError = 0x370, kTimerInitial = 0x380, kTimerCurrent = 0x390;
constexpr uint32_t kTimerDivide = 0x3e0;
// The mask bit of an LVT entry and of an IOAPIC redirection entry alike.
constexpr uint32_t kMasked = 1u << 16;

inline void software_enable(Lapic& lapic, uint8_t spurious = 0xff) { lapic.mmio_write(kSvr, 0x100u | spurious); }

inline void eoi(Lapic& lapic) { lapic.mmio_write(kEoi, 0); }

// The whole loop: IOAPIC -> bus -> LAPIC, EOI back through the LAPIC's level notification.
class IoapicMachine : public IoapicHost, public FakeLapicHost {
public:
    void deliver(const InterruptMessage& m) override { bus.deliver(m); }
    void eoi_level(uint8_t vector) override { io.eoi(vector); }
    ApicBus bus;
    Ioapic io { *static_cast<IoapicHost*>(this) };
};

} // namespace xkvm::irqchip::test

#include <gtest/gtest.h>

#include <random>

#include "irqchip/fake_lapic_host.h"
#include "irqchip/lapic.h"

namespace xkvm::irqchip::test {
namespace {

constexpr uint64_t kXapic = 0xfee00000 | 0x800;
constexpr uint64_t kX2apic = kXapic | 0x400;

TEST(LapicBase, ModeTransitions)
{
    FakeLapicHost host;
    Lapic lapic(0x123, true, host);
    EXPECT_EQ(lapic.msr_write(0x1b, 0xfee00000 | 0x400), MsrAccess::Fault); // EXTD without EN
    EXPECT_EQ(lapic.msr_write(0x1b, kXapic | 1), MsrAccess::Fault);         // reserved bit
    EXPECT_EQ(lapic.msr_write(0x1b, kXapic | (1ull << 60)), MsrAccess::Fault);
    EXPECT_EQ(lapic.id(), 0x23u); // xAPIC: 8 bits
    ASSERT_EQ(lapic.msr_write(0x1b, kX2apic), MsrAccess::Ok);
    EXPECT_TRUE(lapic.x2apic_mode());
    EXPECT_FALSE(lapic.mmio_enabled());
    EXPECT_EQ(lapic.id(), 0x123u);
    EXPECT_EQ(lapic.apic_base(), kX2apic | 0x100); // BSP bit kept
    EXPECT_EQ(lapic.msr_write(0x1b, kXapic), MsrAccess::Fault); // x2APIC -> xAPIC
    ASSERT_EQ(lapic.msr_write(0x1b, 0xfee00000), MsrAccess::Ok);
    EXPECT_FALSE(lapic.mmio_enabled());
    EXPECT_FALSE(lapic.matches(0x23, false, false));
    EXPECT_TRUE(lapic.accepts_pic_interrupts());
    EXPECT_EQ(lapic.msr_write(0x1b, kX2apic), MsrAccess::Fault); // disabled -> x2APIC
    ASSERT_EQ(lapic.msr_write(0x1b, 0xfed00000 | 0x800), MsrAccess::Ok);
    EXPECT_TRUE(lapic.mmio_enabled());
    EXPECT_EQ(lapic.mmio_base(), 0xfed00000u);
}

TEST(LapicBase, ResetLeavesX2apicMode)
{
    FakeLapicHost host;
    Lapic lapic(0x123, true, host);
    ASSERT_EQ(lapic.msr_write(0x1b, kX2apic), MsrAccess::Ok);
    ASSERT_EQ(lapic.msr_write(0x80f, 0x1ff), MsrAccess::Ok);
    lapic.accept(DeliveryMode::Nmi, 0, false);
    lapic.reset();
    EXPECT_EQ(lapic.apic_base(), kXapic | 0x100);
    EXPECT_TRUE(lapic.mmio_enabled());
    EXPECT_EQ(lapic.id(), 0x23u);
    EXPECT_EQ(lapic.mmio_read(0xf0), 0xffu);
    EXPECT_FALSE(lapic.take_nmi());
}

TEST(LapicX2apic, MsrRules)
{
    FakeLapicHost host;
    Lapic lapic(5, false, host);
    uint64_t value = 0;
    EXPECT_EQ(lapic.msr_read(0x802, value), MsrAccess::Fault); // not in x2APIC mode yet
    EXPECT_EQ(lapic.msr_read(0x10, value), MsrAccess::NotMine);
    ASSERT_EQ(lapic.msr_write(0x1b, kX2apic), MsrAccess::Ok);
    ASSERT_EQ(lapic.msr_read(0x802, value), MsrAccess::Ok);
    EXPECT_EQ(value, 5u);
    ASSERT_EQ(lapic.msr_read(0x803, value), MsrAccess::Ok);
    EXPECT_EQ(value, 0x50014u);
    EXPECT_EQ(lapic.msr_write(0x802, 7), MsrAccess::Fault);  // ID read-only
    EXPECT_EQ(lapic.msr_write(0x80d, 1), MsrAccess::Fault);  // LDR read-only
    EXPECT_EQ(lapic.msr_read(0x80e, value), MsrAccess::Fault); // no DFR
    EXPECT_EQ(lapic.msr_read(0x831, value), MsrAccess::Fault); // no ICR high half
    EXPECT_EQ(lapic.msr_read(0x80b, value), MsrAccess::Fault); // EOI write-only
    EXPECT_EQ(lapic.msr_read(0x83f, value), MsrAccess::Fault); // SELF IPI write-only
    EXPECT_EQ(lapic.msr_read(0x82f, value), MsrAccess::Fault); // no CMCI LVT
    EXPECT_EQ(lapic.msr_read(0x8ff, value), MsrAccess::Fault);
    EXPECT_EQ(lapic.msr_write(0x80b, 1), MsrAccess::Fault);    // EOI must be 0
    EXPECT_EQ(lapic.msr_write(0x828, 1), MsrAccess::Fault);    // ESR must be 0
    EXPECT_EQ(lapic.msr_write(0x808, 1ull << 32), MsrAccess::Fault);
    EXPECT_EQ(lapic.msr_write(0x83f, 0x100), MsrAccess::Fault);
    EXPECT_EQ(lapic.mmio_read(0x20), 0u); // no MMIO in x2APIC mode
}

TEST(LapicX2apic, IcrIsOne64BitMsr)
{
    FakeLapicHost host;
    Lapic lapic(1, false, host);
    ASSERT_EQ(lapic.msr_write(0x1b, kX2apic), MsrAccess::Ok);
    ASSERT_EQ(lapic.msr_write(0x830, (0x12345ull << 32) | 0x4000 | 0x61), MsrAccess::Ok);
    ASSERT_EQ(host.ipis.size(), 1u);
    EXPECT_EQ(host.ipis[0].destination, 0x12345u);
    EXPECT_EQ(host.ipis[0].vector, 0x61);
    EXPECT_TRUE(host.ipis[0].x2apic);
    EXPECT_EQ(host.ipis[0].source_apic_id, 1u);
    uint64_t value = 0;
    ASSERT_EQ(lapic.msr_read(0x830, value), MsrAccess::Ok);
    EXPECT_EQ(value, (0x12345ull << 32) | 0x4000 | 0x61);
}

TEST(LapicX2apic, SelfIpiAndEoi)
{
    FakeLapicHost host;
    Lapic lapic(1, false, host);
    ASSERT_EQ(lapic.msr_write(0x1b, kX2apic), MsrAccess::Ok);
    ASSERT_EQ(lapic.msr_write(0x80f, 0x1ff), MsrAccess::Ok);
    ASSERT_EQ(lapic.msr_write(0x83f, 0x77), MsrAccess::Ok);
    EXPECT_EQ(lapic.acknowledge(), 0x77);
    uint64_t isr = 0;
    ASSERT_EQ(lapic.msr_read(0x813, isr), MsrAccess::Ok);
    EXPECT_EQ(isr, 1u << (0x77 - 0x60));
    ASSERT_EQ(lapic.msr_write(0x80b, 0), MsrAccess::Ok);
    ASSERT_EQ(lapic.msr_read(0x813, isr), MsrAccess::Ok);
    EXPECT_EQ(isr, 0u);
}

TEST(LapicMmio, MalformedAccessesAreHarmless)
{
    FakeLapicHost host;
    Lapic lapic(0, true, host);
    software_enable(lapic);
    lapic.mmio_write(kTpr + 1, 0xff);    // unaligned
    lapic.mmio_write(kTpr, 0xff, 2);     // short
    lapic.mmio_write(kTpr + 4, 0xff);    // in the register's padding
    EXPECT_EQ(lapic.mmio_read(kTpr), 0u);
    EXPECT_EQ(lapic.mmio_read(kVersion + 2, 1), 0x05u); // narrow reads inside the dword work
    EXPECT_EQ(lapic.mmio_read(kVersion, 2), 0x0014u);
    EXPECT_EQ(lapic.mmio_read(kVersion + 3, 2), 0u);    // crosses the dword
    EXPECT_EQ(lapic.mmio_read(kVersion, 8), 0u);
    EXPECT_EQ(lapic.mmio_read(0x1000), 0u);
    EXPECT_EQ(lapic.mmio_read(0xffffffff, 4), 0u);
    lapic.mmio_write(kVersion, 0); // read-only: ignored
    EXPECT_EQ(lapic.mmio_read(kVersion), 0x50014u);

    std::mt19937 rng(1234);
    for (int i = 0; i < 200000; ++i) {
        uint32_t offset = rng() % 0x1100;
        unsigned size = 1u << (rng() % 4);
        if (rng() & 1)
            lapic.mmio_write(offset, rng(), size);
        else
            (void)lapic.mmio_read(offset, size);
        if (auto v = lapic.acknowledge(); v && (rng() & 1))
            eoi(lapic);
        host.now += rng() % 1000;
        lapic.update_timer(host.now);
        host.ipis.clear();
    }
    SUCCEED();
}

TEST(LapicMsr, RandomMsrsNeverCrash)
{
    FakeLapicHost host;
    Lapic lapic(9, false, host);
    std::mt19937_64 rng(99);
    for (int i = 0; i < 200000; ++i) {
        uint32_t index = (rng() & 1) ? 0x800 + rng() % 0x100 : static_cast<uint32_t>(rng() % 0x900);
        uint64_t value = rng();
        if (rng() % 8 == 0)
            (void)lapic.msr_write(0x1b, (rng() & 1) ? kX2apic : kXapic);
        if (rng() & 1)
            (void)lapic.msr_write(index, value >> (rng() % 64));
        else
            (void)lapic.msr_read(index, value);
        (void)lapic.acknowledge();
        host.ipis.clear();
    }
    SUCCEED();
}

} // namespace
} // namespace xkvm::irqchip::test

#include "irqchip/lapic.h"

#include <gtest/gtest.h>

#include "irqchip/apic_bus.h"
#include "irqchip/fake_lapic_host.h"

namespace xkvm::irqchip::test {
namespace {

class LapicTest : public ::testing::Test {
protected:
    FakeLapicHost host;
    Lapic lapic { 0, true, host };
    void SetUp() override { software_enable(lapic); }
};

TEST_F(LapicTest, PowerOnState)
{
    Lapic fresh(3, false, host);
    EXPECT_EQ(fresh.apic_base(), 0xfee00800u); // enabled, not BSP
    EXPECT_EQ(lapic.apic_base(), 0xfee00900u);
    EXPECT_EQ(fresh.mmio_read(kId), 3u << 24);
    EXPECT_EQ(fresh.mmio_read(kVersion), 0x50014u);
    EXPECT_EQ(fresh.mmio_read(kSvr), 0xffu);
    EXPECT_EQ(fresh.mmio_read(kDfr), 0xffffffffu);
    EXPECT_EQ(fresh.mmio_read(kLvtTimer), 0x10000u);
    EXPECT_FALSE(fresh.accepts_pic_interrupts()); // LINT0 masked on an AP
    EXPECT_TRUE(lapic.accepts_pic_interrupts());  // the BSP's LINT0 is ExtINT
}

TEST_F(LapicTest, HighestVectorFirst)
{
    lapic.accept(DeliveryMode::Fixed, 0x41, false);
    lapic.accept(DeliveryMode::Fixed, 0x93, false);
    lapic.accept(DeliveryMode::Fixed, 0x52, false);
    EXPECT_EQ(lapic.acknowledge(), 0x93);
    // 0x52 and 0x41 are of lower classes than 0x93 in service.
    EXPECT_FALSE(lapic.interrupt_pending());
    EXPECT_EQ(lapic.mmio_read(kPpr), 0x90u);
    eoi(lapic);
    EXPECT_EQ(lapic.acknowledge(), 0x52);
    EXPECT_EQ(lapic.mmio_read(kIsr + 0x20), 1u << (0x52 - 0x40));
    eoi(lapic);
    EXPECT_EQ(lapic.acknowledge(), 0x41);
    eoi(lapic);
    EXPECT_EQ(lapic.acknowledge(), std::nullopt);
}

TEST_F(LapicTest, SameClassWaitsForEoi)
{
    lapic.accept(DeliveryMode::Fixed, 0x50, false);
    ASSERT_EQ(lapic.acknowledge(), 0x50);
    lapic.accept(DeliveryMode::Fixed, 0x5f, false);
    EXPECT_FALSE(lapic.interrupt_pending()); // same priority class as the one in service
    lapic.accept(DeliveryMode::Fixed, 0x60, false);
    EXPECT_EQ(lapic.acknowledge(), 0x60); // a higher class nests
    eoi(lapic);
    EXPECT_FALSE(lapic.interrupt_pending());
    eoi(lapic);
    EXPECT_EQ(lapic.acknowledge(), 0x5f);
}

TEST_F(LapicTest, TaskPriorityBlocksItsClassAndBelow)
{
    lapic.mmio_write(kTpr, 0x75);
    lapic.accept(DeliveryMode::Fixed, 0x7f, false);
    EXPECT_FALSE(lapic.interrupt_pending());
    EXPECT_EQ(lapic.mmio_read(kPpr), 0x75u);
    lapic.set_cr8(6);
    EXPECT_EQ(lapic.tpr(), 0x60);
    EXPECT_EQ(lapic.acknowledge(), 0x7f);
    EXPECT_EQ(lapic.mmio_read(kPpr), 0x70u); // the ISR class wins over a lower TPR
    EXPECT_EQ(lapic.cr8(), 6);
}

TEST_F(LapicTest, LevelTriggeredEoiNotifies)
{
    lapic.accept(DeliveryMode::Fixed, 0x30, true);
    lapic.accept(DeliveryMode::Fixed, 0x31, false);
    EXPECT_EQ(lapic.mmio_read(kTmr + 0x10), 1u << 0x10);
    ASSERT_EQ(lapic.acknowledge(), 0x31);
    eoi(lapic);
    EXPECT_TRUE(host.level_eois.empty());
    ASSERT_EQ(lapic.acknowledge(), 0x30);
    eoi(lapic);
    EXPECT_EQ(host.level_eois, std::vector<uint8_t> { 0x30 });
}

TEST_F(LapicTest, SoftwareDisableDropsAndMasks)
{
    lapic.mmio_write(kLvtTimer, 0x40);
    lapic.mmio_write(kSvr, 0xff);
    EXPECT_EQ(lapic.mmio_read(kLvtTimer), 0x10040u);
    lapic.accept(DeliveryMode::Fixed, 0x40, false);
    EXPECT_EQ(lapic.mmio_read(kIrr + 0x20), 0u);
    lapic.mmio_write(kLvtTimer, 0x41); // stays masked while disabled
    EXPECT_EQ(lapic.mmio_read(kLvtTimer), 0x10041u);
    // NMI and INIT still arrive.
    lapic.accept(DeliveryMode::Nmi, 0, false);
    EXPECT_TRUE(lapic.take_nmi());
    EXPECT_FALSE(lapic.take_nmi());
}

TEST_F(LapicTest, IllegalVectorsSetEsr)
{
    lapic.accept(DeliveryMode::Fixed, 5, false);
    EXPECT_FALSE(lapic.interrupt_pending());
    EXPECT_EQ(lapic.mmio_read(kEsr), 0u); // latched only by an ESR write
    lapic.mmio_write(kEsr, 0);
    EXPECT_EQ(lapic.mmio_read(kEsr), Lapic::kEsrReceiveIllegalVector);
    lapic.mmio_write(kIcrLow, 0x4000 | 3); // fixed IPI with vector 3
    EXPECT_TRUE(host.ipis.empty());
    lapic.mmio_write(kEsr, 0);
    EXPECT_EQ(lapic.mmio_read(kEsr), Lapic::kEsrSendIllegalVector);
    lapic.mmio_write(kEsr, 0);
    EXPECT_EQ(lapic.mmio_read(kEsr), 0u);
}

TEST_F(LapicTest, ErrorLvtDelivers)
{
    lapic.mmio_write(kLvtError, 0xee);
    lapic.mmio_write(0x400, 1); // reserved register
    EXPECT_EQ(lapic.acknowledge(), 0xee);
    lapic.mmio_write(kEsr, 0);
    EXPECT_EQ(lapic.mmio_read(kEsr), Lapic::kEsrIllegalRegister);
}

TEST_F(LapicTest, IllegalErrorVectorDoesNotLoop)
{
    lapic.mmio_write(kLvtError, 0x02);
    lapic.accept(DeliveryMode::Fixed, 1, false);
    lapic.mmio_write(kEsr, 0);
    EXPECT_EQ(lapic.mmio_read(kEsr), Lapic::kEsrReceiveIllegalVector);
    EXPECT_FALSE(lapic.interrupt_pending());
}

TEST_F(LapicTest, IcrBuildsIpis)
{
    lapic.mmio_write(kIcrHigh, 0x05000000);
    lapic.mmio_write(kIcrLow, 0x4000 | 0x4f8 | (1u << 11)); // NMI mode bits, logical
    ASSERT_EQ(host.ipis.size(), 1u);
    EXPECT_EQ(host.ipis[0].destination, 5u);
    EXPECT_TRUE(host.ipis[0].logical);
    EXPECT_EQ(host.ipis[0].mode, DeliveryMode::Nmi);
    lapic.mmio_write(kIcrLow, (3u << 18) | 0x4000 | 0x30);
    ASSERT_EQ(host.ipis.size(), 2u);
    EXPECT_EQ(host.ipis[1].shorthand, Shorthand::AllExcludingSelf);
    EXPECT_EQ(lapic.mmio_read(kIcrLow) & (1u << 12), 0u); // never busy
    lapic.mmio_write(kIcrLow, 0x8500); // INIT level de-assert: nothing is sent
    EXPECT_EQ(host.ipis.size(), 2u);
}

TEST_F(LapicTest, InitSipiSipi)
{
    Lapic ap(1, false, host);
    software_enable(ap);
    ap.mmio_write(kTpr, 0x20);
    ap.accept(DeliveryMode::Init, 0, false);
    EXPECT_TRUE(ap.wakeup_pending());
    ap.accept(DeliveryMode::Sipi, 0x9a, false);
    ap.accept(DeliveryMode::Sipi, 0x9a, false);
    EXPECT_TRUE(ap.take_init());
    EXPECT_EQ(ap.mmio_read(kTpr), 0u); // INIT resets the registers
    EXPECT_EQ(ap.mmio_read(kSvr), 0xffu);
    EXPECT_EQ(ap.id(), 1u);
    EXPECT_FALSE(ap.take_init());
    EXPECT_EQ(ap.take_sipi(), 0x9a);
    EXPECT_EQ(ap.take_sipi(), std::nullopt);
}

TEST_F(LapicTest, Lint1Nmi)
{
    lapic.mmio_write(kLvtLint1, 0x400);
    lapic.set_lint(1, true);
    lapic.set_lint(1, true); // no new edge
    EXPECT_TRUE(lapic.take_nmi());
    EXPECT_FALSE(lapic.take_nmi());
    lapic.set_lint(1, false);
    lapic.set_lint(1, true);
    EXPECT_TRUE(lapic.take_nmi());
    lapic.mmio_write(kLvtLint0, 0x10700);
    EXPECT_FALSE(lapic.accepts_pic_interrupts());
}

TEST_F(LapicTest, ExtIntMessage)
{
    lapic.accept(DeliveryMode::ExtInt, 0, false);
    EXPECT_TRUE(lapic.take_extint());
    EXPECT_FALSE(lapic.take_extint());
}

TEST(LapicDestination, PhysicalAndBroadcast)
{
    FakeLapicHost host;
    Lapic lapic(7, false, host);
    EXPECT_TRUE(lapic.matches(7, false, false));
    EXPECT_FALSE(lapic.matches(8, false, false));
    EXPECT_TRUE(lapic.matches(0xff, false, false));
    EXPECT_TRUE(lapic.matches(0xffffffff, false, true));
}

TEST(LapicDestination, FlatAndClusterLogical)
{
    FakeLapicHost host;
    Lapic lapic(2, false, host);
    lapic.mmio_write(kLdr, 0x04000000);
    EXPECT_TRUE(lapic.matches(0x0c, true, false));
    EXPECT_FALSE(lapic.matches(0x03, true, false));
    lapic.mmio_write(kDfr, 0x0fffffff); // cluster model
    lapic.mmio_write(kLdr, 0x32000000); // cluster 3, member bit 1
    EXPECT_TRUE(lapic.matches(0x36, true, false));
    EXPECT_FALSE(lapic.matches(0x26, true, false));
    EXPECT_FALSE(lapic.matches(0x35, true, false));
    EXPECT_EQ(lapic.mmio_read(kDfr), 0x0fffffffu);
}

TEST(LapicDestination, X2apicLogicalClusters)
{
    FakeLapicHost host;
    Lapic lapic(0x23, false, host);
    ASSERT_EQ(lapic.msr_write(0x1b, 0xfee00000 | 0xc00), MsrAccess::Ok);
    uint64_t ldr = 0;
    ASSERT_EQ(lapic.msr_read(0x80d, ldr), MsrAccess::Ok);
    EXPECT_EQ(ldr, (2u << 16) | (1u << 3));
    EXPECT_TRUE(lapic.matches((2u << 16) | 0x8, true, true));
    EXPECT_FALSE(lapic.matches((1u << 16) | 0x8, true, true));
    EXPECT_TRUE(lapic.matches(0x23, false, true));
}

TEST(ApicBusTest, ShorthandsAndLowestPriority)
{
    FakeLapicHost hosts[3];
    Lapic a(0, true, hosts[0]), b(1, false, hosts[1]), c(2, false, hosts[2]);
    ApicBus bus;
    for (Lapic* l : { &a, &b, &c }) {
        software_enable(*l);
        bus.attach(*l);
    }
    auto irr_has = [](Lapic& l, uint8_t v) { return (l.mmio_read(kIrr + (v / 32) * 0x10) >> (v % 32)) & 1; };
    bus.send_ipi({ .source_apic_id = 0, .shorthand = Shorthand::Self, .vector = 0x40 });
    EXPECT_TRUE(irr_has(a, 0x40));
    EXPECT_FALSE(irr_has(b, 0x40));
    bus.send_ipi({ .source_apic_id = 0, .shorthand = Shorthand::AllExcludingSelf, .vector = 0x41 });
    EXPECT_FALSE(irr_has(a, 0x41));
    EXPECT_TRUE(irr_has(b, 0x41) && irr_has(c, 0x41));
    bus.send_ipi({ .source_apic_id = 1, .shorthand = Shorthand::AllIncludingSelf, .vector = 0x42 });
    EXPECT_TRUE(irr_has(a, 0x42) && irr_has(b, 0x42) && irr_has(c, 0x42));
    bus.send_ipi({ .source_apic_id = 0, .destination = 2, .vector = 0x43 });
    EXPECT_TRUE(irr_has(c, 0x43));
    EXPECT_FALSE(irr_has(b, 0x43));
    bus.deliver({ .destination = 0xff, .mode = DeliveryMode::LowestPriority, .vector = 0x44 });
    EXPECT_EQ(irr_has(a, 0x44) + irr_has(b, 0x44) + irr_has(c, 0x44), 1u);
    b.mmio_write(kId, 0); // a guest gave b the BSP's ID: self still means the sender
    bus.send_ipi({ .source_apic_id = 0, .shorthand = Shorthand::Self, .vector = 0x45 }, &b);
    EXPECT_TRUE(irr_has(b, 0x45));
    EXPECT_FALSE(irr_has(a, 0x45));
}

} // namespace
} // namespace xkvm::irqchip::test

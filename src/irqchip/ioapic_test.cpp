#include "irqchip/ioapic.h"

#include <gtest/gtest.h>

#include <random>

#include "irqchip/apic_bus.h"
#include "irqchip/fake_lapic_host.h"

namespace xkvm::irqchip::test {
namespace {

class RecordingHost : public IoapicHost {
public:
    void deliver(const InterruptMessage& message) override { messages.push_back(message); }
    std::vector<InterruptMessage> messages;
};

void route(Ioapic& io, unsigned pin, uint32_t low, uint32_t high)
{
    io.mmio_write(0x00, 0x11 + 2 * pin);
    io.mmio_write(0x10, high);
    io.mmio_write(0x00, 0x10 + 2 * pin);
    io.mmio_write(0x10, low);
}

uint32_t read_reg(Ioapic& io, uint32_t reg)
{
    io.mmio_write(0x00, reg);
    return io.mmio_read(0x10);
}

constexpr uint32_t kLevel = 1u << 15, kRemoteIrr = 1u << 14, kLogical = 1u << 11;

TEST(Ioapic, IdentityRegisters)
{
    RecordingHost host;
    Ioapic io(host, 2);
    EXPECT_EQ(read_reg(io, 0), 2u << 24);
    EXPECT_EQ(read_reg(io, 1), 0x170020u);
    EXPECT_EQ(read_reg(io, 2), 2u << 24);
    EXPECT_EQ(read_reg(io, 0x10), kMasked); // masked at reset
    io.mmio_write(0x00, 0);
    io.mmio_write(0x10, 0xffffffff);
    EXPECT_EQ(read_reg(io, 0), 0x0f000000u);
    EXPECT_EQ(read_reg(io, 0x10 + 2 * 24), 0xffffffffu); // past the table
    io.mmio_write(0x00, 0x42, 1);
    EXPECT_EQ(io.mmio_read(0x00, 1), 0x42u);
}

TEST(Ioapic, EdgeDeliversOnRisingEdgeOnly)
{
    RecordingHost host;
    Ioapic io(host);
    route(io, 4, 0x34 | kLogical, 0x03000000);
    io.set_irq(4, true);
    io.set_irq(4, true);
    ASSERT_EQ(host.messages.size(), 1u);
    EXPECT_EQ(host.messages[0].vector, 0x34);
    EXPECT_EQ(host.messages[0].destination, 3u);
    EXPECT_TRUE(host.messages[0].logical);
    EXPECT_FALSE(host.messages[0].level_triggered);
    io.set_irq(4, false);
    io.set_irq(4, true);
    EXPECT_EQ(host.messages.size(), 2u);
    route(io, 4, 0x34 | kMasked, 0);
    io.set_irq(4, false);
    io.set_irq(4, true);
    EXPECT_EQ(host.messages.size(), 2u);
}

TEST(Ioapic, LevelRemoteIrrAndRedeliveryWhileAsserted)
{
    RecordingHost host;
    Ioapic io(host);
    route(io, 9, 0x59 | kLevel, 0);
    io.set_irq(9, true);
    ASSERT_EQ(host.messages.size(), 1u);
    EXPECT_TRUE(host.messages[0].level_triggered);
    EXPECT_TRUE(read_reg(io, 0x10 + 18) & kRemoteIrr);
    io.set_irq(9, true); // remote IRR holds it
    EXPECT_EQ(host.messages.size(), 1u);
    io.eoi(0x58); // other vector
    EXPECT_EQ(host.messages.size(), 1u);
    io.eoi(0x59); // still asserted: again
    EXPECT_EQ(host.messages.size(), 2u);
    io.set_irq(9, false);
    io.eoi(0x59);
    EXPECT_EQ(host.messages.size(), 2u);
    EXPECT_FALSE(read_reg(io, 0x10 + 18) & kRemoteIrr);
    io.mmio_write(0x40, 0x59); // the EOI register
    EXPECT_EQ(host.messages.size(), 2u);
}

TEST(Ioapic, UnmaskingAssertedLevelPinDelivers)
{
    RecordingHost host;
    Ioapic io(host);
    route(io, 2, 0x60 | kLevel | kMasked, 0);
    io.set_irq(2, true);
    EXPECT_TRUE(host.messages.empty());
    route(io, 2, 0x60 | kLevel, 0);
    EXPECT_EQ(host.messages.size(), 1u);
}

TEST(Ioapic, EoiCallbackCanDropTheLine)
{
    RecordingHost host;
    Ioapic io(host);
    route(io, 5, 0x70 | kLevel, 0);
    bool still_pending = true;
    int calls = 0;
    io.set_eoi_callback(5, [&] {
        ++calls;
        io.set_irq(5, still_pending); // re-entering the IOAPIC from the callback is allowed
    });
    io.set_irq(5, true);
    io.eoi(0x70);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(host.messages.size(), 2u);
    still_pending = false;
    io.eoi(0x70);
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(host.messages.size(), 2u);
}

TEST(Ioapic, LevelLoopThroughLapic)
{
    IoapicMachine m;
    Lapic lapic(0, true, m);
    software_enable(lapic);
    m.bus.attach(lapic);
    route(m.io, 10, 0x80 | kLevel, 0);
    m.io.set_irq(10, true);
    ASSERT_EQ(lapic.acknowledge(), 0x80);
    EXPECT_FALSE(lapic.interrupt_pending());
    eoi(lapic); // remote IRR cleared, line still up: delivered again
    ASSERT_EQ(lapic.acknowledge(), 0x80);
    m.io.set_irq(10, false);
    eoi(lapic);
    EXPECT_FALSE(lapic.interrupt_pending());
    EXPECT_FALSE(m.io.redirection(10) & kRemoteIrr);
}

TEST(Ioapic, ResetMasksEverything)
{
    RecordingHost host;
    Ioapic io(host);
    route(io, 3, 0x40 | kLevel, 0);
    io.set_irq(3, true);
    io.reset();
    EXPECT_EQ(io.redirection(3), kMasked);
    io.eoi(0x40);
    EXPECT_EQ(host.messages.size(), 1u);
}

TEST(Ioapic, HostileAccessesNeverCrash)
{
    RecordingHost host;
    Ioapic io(host);
    std::mt19937 rng(7);
    for (int i = 0; i < 200000; ++i) {
        switch (rng() % 4) {
        case 0: io.mmio_write(rng() % 0x110, rng(), 1u << (rng() % 4)); break;
        case 1: (void)io.mmio_read(rng() % 0x110, 1u << (rng() % 4)); break;
        case 2: io.set_irq(rng() % 40, rng() & 1); break;
        default: io.eoi(static_cast<uint8_t>(rng())); break;
        }
        host.messages.clear();
    }
    SUCCEED();
}

} // namespace
} // namespace xkvm::irqchip::test

#include "irqchip/pic.h"

#include <gtest/gtest.h>

#include <random>

namespace xkvm::irqchip::test {
namespace {

// The classic PC setup: master at 0x20, slave at 0x28, cascade on IRQ 2, 8086 mode.
void init(Pic& pic, uint8_t icw4 = 0x01)
{
    pic.io_write(0x20, 0x11);
    pic.io_write(0x21, 0x20);
    pic.io_write(0x21, 0x04);
    pic.io_write(0x21, icw4);
    pic.io_write(0xa0, 0x11);
    pic.io_write(0xa1, 0x28);
    pic.io_write(0xa1, 0x02);
    pic.io_write(0xa1, icw4);
}

TEST(Pic, InitSequenceAndVectors)
{
    int raised = 0;
    Pic pic([&] { ++raised; });
    init(pic);
    EXPECT_EQ(pic.io_read(0x21), 0x00); // ICW1 clears the mask
    EXPECT_FALSE(pic.output());
    pic.set_irq(1, true);
    EXPECT_TRUE(pic.output());
    EXPECT_EQ(raised, 1);
    EXPECT_EQ(pic.acknowledge(), 0x21);
    EXPECT_FALSE(pic.output());
    pic.io_write(0x20, 0x0b); // OCW3: read ISR
    EXPECT_EQ(pic.io_read(0x20), 0x02);
    pic.io_write(0x20, 0x20); // non-specific EOI
    EXPECT_EQ(pic.io_read(0x20), 0x00);
}

TEST(Pic, MaskingAndPriority)
{
    Pic pic;
    init(pic);
    pic.io_write(0x21, 0x08); // mask IRQ 3
    pic.set_irq(3, true);
    EXPECT_FALSE(pic.output());
    pic.io_write(0x20, 0x0a); // OCW3: read IRR
    EXPECT_EQ(pic.io_read(0x20), 0x08);
    pic.set_irq(5, true);
    pic.set_irq(4, true);
    EXPECT_EQ(pic.acknowledge(), 0x24); // lowest line number wins
    pic.set_irq(0, true);
    EXPECT_EQ(pic.acknowledge(), 0x20); // nests above 4
    EXPECT_FALSE(pic.output());         // 5 waits for 4's EOI
    pic.io_write(0x20, 0x60);           // specific EOI for 0
    EXPECT_FALSE(pic.output());
    pic.io_write(0x20, 0x64); // specific EOI for 4
    EXPECT_EQ(pic.acknowledge(), 0x25);
    pic.io_write(0x21, 0x00);
    EXPECT_EQ(pic.acknowledge(), 0x23); // latched while masked, and it outranks 5 in service
}

TEST(Pic, CascadeThroughIrq2)
{
    Pic pic;
    init(pic);
    pic.set_irq(10, true);
    EXPECT_TRUE(pic.output());
    EXPECT_EQ(pic.acknowledge(), 0x2a);
    pic.io_write(0xa0, 0x0b);
    EXPECT_EQ(pic.io_read(0xa0), 0x04);
    pic.io_write(0x20, 0x0b);
    EXPECT_EQ(pic.io_read(0x20), 0x04); // master has IRQ 2 in service
    pic.io_write(0xa0, 0x20);
    pic.io_write(0x20, 0x20);
    pic.io_write(0xa1, 0x01); // mask IRQ 8 on the slave
    pic.set_irq(8, true);
    EXPECT_FALSE(pic.output());
    pic.set_irq(2, true); // the cascade input is not a device line
    EXPECT_FALSE(pic.output());
}

TEST(Pic, SpuriousWhenNothingPending)
{
    Pic pic;
    init(pic);
    EXPECT_EQ(pic.acknowledge(), 0x27);
    pic.io_write(0x20, 0x0b);
    EXPECT_EQ(pic.io_read(0x20), 0x00); // no ISR bit for a spurious interrupt
}

TEST(Pic, LevelModeFromElcr)
{
    Pic pic;
    init(pic);
    pic.io_write(0x4d1, 0xff);
    EXPECT_EQ(pic.io_read(0x4d1), 0xde); // IRQ 8 and 13 stay edge
    pic.io_write(0x4d0, 0xff);
    EXPECT_EQ(pic.io_read(0x4d0), 0xf8);
    pic.set_irq(11, true);
    EXPECT_EQ(pic.acknowledge(), 0x2b);
    pic.io_write(0xa0, 0x20);
    pic.io_write(0x20, 0x20);
    EXPECT_TRUE(pic.output()); // still asserted: raised again
    pic.set_irq(11, false);
    EXPECT_FALSE(pic.output());
    pic.set_irq(5, true);
    pic.set_irq(5, false); // level line dropped before INTA: gone
    EXPECT_FALSE(pic.output());
}

TEST(Pic, AutoEoiAndPoll)
{
    Pic pic;
    init(pic, 0x03);
    pic.set_irq(6, true);
    EXPECT_EQ(pic.acknowledge(), 0x26);
    pic.io_write(0x20, 0x0b);
    EXPECT_EQ(pic.io_read(0x20), 0x00);
    pic.set_irq(7, true);
    pic.io_write(0x20, 0x0c); // poll
    EXPECT_EQ(pic.io_read(0x20), 0x87);
    EXPECT_FALSE(pic.output());
}

TEST(Pic, RotationChangesPriority)
{
    Pic pic;
    init(pic);
    pic.io_write(0x20, 0xc4); // set priority: IRQ 4 lowest, so 5 is highest
    pic.set_irq(3, true);
    pic.set_irq(6, true);
    EXPECT_EQ(pic.acknowledge(), 0x26);
    pic.io_write(0x20, 0xa0); // rotate on non-specific EOI: 6 becomes lowest
    EXPECT_EQ(pic.acknowledge(), 0x23);
}

TEST(Pic, ResetForgetsProgramming)
{
    Pic pic;
    init(pic);
    pic.io_write(0x21, 0xff);
    pic.io_write(0x4d0, 0x20);
    pic.reset();
    EXPECT_EQ(pic.io_read(0x21), 0x00);
    EXPECT_EQ(pic.io_read(0x4d0), 0x00);
    EXPECT_EQ(pic.acknowledge(), 0x07); // vector base 0 until initialised
}

TEST(Pic, HostilePortTrafficNeverCrashes)
{
    Pic pic;
    std::mt19937 rng(5);
    const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x22, 0x0 };
    for (int i = 0; i < 200000; ++i) {
        uint16_t port = ports[rng() % 8];
        switch (rng() % 4) {
        case 0: pic.io_write(port, static_cast<uint8_t>(rng())); break;
        case 1: (void)pic.io_read(port); break;
        case 2: pic.set_irq(rng() % 20, rng() & 1); break;
        default: (void)pic.acknowledge(); break;
        }
    }
    EXPECT_FALSE(Pic::claims(0x22));
    EXPECT_TRUE(Pic::claims(0x4d1));
}

} // namespace
} // namespace xkvm::irqchip::test

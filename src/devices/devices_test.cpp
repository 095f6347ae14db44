#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "devices/debug_port.h"
#include "devices/io_bus.h"
#include "devices/pv_console.h"
#include "devices/uart16550.h"
#include "xen/abi/console.h"

using namespace xkvm::devices;

namespace {

struct Capture : ConsoleSink {
    std::string text;
    void console_output(std::string_view b) override { text.append(b); }
};

uint8_t rd(IoBus& bus, uint64_t addr)
{
    uint8_t v;
    bus.read(addr, std::span(&v, 1));
    return v;
}
void wr(IoBus& bus, uint64_t addr, uint8_t v) { bus.write(addr, std::span(&v, 1)); }

} // namespace

TEST(IoBus, RoutesAndRefusesOverlaps)
{
    Capture cap;
    DebugPort dbg(cap);
    IoBus bus;
    ASSERT_TRUE(bus.claim(kDebugPort, 1, &dbg, "debug"));
    EXPECT_FALSE(bus.claim(kDebugPort, 4, &dbg, "again"));
    wr(bus, kDebugPort, 'x');
    EXPECT_EQ(cap.text, "x");
    EXPECT_EQ(rd(bus, kDebugPort), 0xff); // Xen's hvm_print_line refuses reads
    EXPECT_EQ(rd(bus, 0x1234), 0xff);
    EXPECT_FALSE(bus.write(0x1234, std::span<const uint8_t>()));
}

TEST(Uart16550, TransmitsAndRaisesInterruptsWhenEnabled)
{
    Capture cap;
    std::vector<bool> irq;
    Uart16550 uart(cap, [&](bool level) { irq.push_back(level); });
    IoBus bus;
    ASSERT_TRUE(bus.claim(kCom1Base, 8, &uart, "com1"));
    EXPECT_EQ(rd(bus, kCom1Base + 5) & 0x60, 0x60); // THRE|TEMT
    wr(bus, kCom1Base, 'o');
    wr(bus, kCom1Base, 'k');
    EXPECT_EQ(cap.text, "ok");
    EXPECT_TRUE(irq.empty());

    wr(bus, kCom1Base + 1, 0x01); // receive interrupt
    uart.receive("ab");
    ASSERT_FALSE(irq.empty());
    EXPECT_TRUE(irq.back());
    EXPECT_EQ(rd(bus, kCom1Base + 2) & 0x0f, 0x04);
    EXPECT_EQ(rd(bus, kCom1Base + 5) & 1, 1);
    EXPECT_EQ(rd(bus, kCom1Base), 'a');
    EXPECT_EQ(rd(bus, kCom1Base), 'b');
    EXPECT_FALSE(irq.back());
    EXPECT_EQ(rd(bus, kCom1Base + 5) & 1, 0);

    // Divisor latch access does not transmit.
    wr(bus, kCom1Base + 3, 0x80);
    wr(bus, kCom1Base, 0x01);
    wr(bus, kCom1Base + 3, 0x03);
    EXPECT_EQ(cap.text, "ok");
}

TEST(Uart16550, ThreInterruptClearsOnIirRead)
{
    Capture cap;
    bool line = false;
    Uart16550 uart(cap, [&](bool level) { line = level; });
    IoBus bus;
    ASSERT_TRUE(bus.claim(kCom1Base, 8, &uart, "com1"));
    wr(bus, kCom1Base + 1, 0x02);
    EXPECT_TRUE(line);
    EXPECT_EQ(rd(bus, kCom1Base + 2) & 0x0f, 0x02);
    EXPECT_FALSE(line);
}

namespace {
struct RingFixture : ::testing::Test {
    alignas(4096) uint8_t page[4096] = {};
    xencons_interface* intf() { return reinterpret_cast<xencons_interface*>(page); }
    Capture cap;
    int notified = 0;
    PvConsole con { page, cap, [this] { ++notified; } };

    void guest_write(std::string_view s)
    {
        for (char c : s)
            intf()->out[XENCONS_MASK(intf()->out_prod++, XENCONS_OUT_SIZE)] = c;
    }
};
} // namespace

TEST_F(RingFixture, DrainsOutputAcrossTheWrap)
{
    intf()->out_cons = intf()->out_prod = XENCONS_OUT_SIZE - 3;
    guest_write("wrapped!");
    con.guest_notified();
    EXPECT_EQ(cap.text, "wrapped!");
    EXPECT_EQ(intf()->out_cons, intf()->out_prod);
    EXPECT_EQ(notified, 1);
    con.guest_notified(); // nothing new: no notification
    EXPECT_EQ(notified, 1);
}

TEST_F(RingFixture, DeliversInputWithinTheRoom)
{
    con.receive("hi");
    EXPECT_EQ(intf()->in_prod, 2u);
    EXPECT_EQ(intf()->in[0], 'h');
    EXPECT_EQ(notified, 1);
    // The guest has not consumed anything: a flood only fills the free space.
    con.receive(std::string(3000, 'z'));
    EXPECT_EQ(intf()->in_prod - intf()->in_cons, uint32_t(XENCONS_IN_SIZE));
}

TEST_F(RingFixture, LyingIndicesBreakTheRingWithoutOverrun)
{
    intf()->out_prod = 0x10000; // claims 64 KiB of output in a 2 KiB ring
    con.guest_notified();
    EXPECT_TRUE(con.broken());
    EXPECT_TRUE(cap.text.empty());
    guest_write("ignored");
    con.guest_notified();
    EXPECT_TRUE(cap.text.empty());
}

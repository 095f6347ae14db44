#include <gtest/gtest.h>

#include "irqchip/fake_lapic_host.h"
#include "irqchip/lapic.h"

namespace xkvm::irqchip::test {
namespace {

constexpr uint32_t kPeriodic = 1u << 17, kTscDeadline = 2u << 17;
constexpr uint32_t kDivideBy1 = 0xb, kDivideBy2 = 0x0, kDivideBy16 = 0x3, kDivideBy128 = 0xa;

class LapicTimerTest : public ::testing::Test {
protected:
    FakeLapicHost host;
    Lapic lapic { 0, true, host };
    void SetUp() override { software_enable(lapic); }
    void advance(uint64_t ns)
    {
        host.now += ns;
        lapic.update_timer(host.now);
    }
    bool fired(uint8_t vector)
    {
        auto v = lapic.acknowledge();
        if (v)
            eoi(lapic);
        return v == vector;
    }
};

TEST_F(LapicTimerTest, OneShotAtOneGigahertz)
{
    lapic.mmio_write(kTimerDivide, kDivideBy1);
    lapic.mmio_write(kLvtTimer, 0x40);
    lapic.mmio_write(kTimerInitial, 1000);
    EXPECT_EQ(lapic.next_deadline_ns(), host.now + 1000);
    advance(400);
    EXPECT_EQ(lapic.mmio_read(kTimerCurrent), 600u);
    EXPECT_FALSE(lapic.interrupt_pending());
    advance(600);
    EXPECT_TRUE(fired(0x40));
    EXPECT_EQ(lapic.mmio_read(kTimerCurrent), 0u);
    EXPECT_EQ(lapic.next_deadline_ns(), std::nullopt);
    advance(5000);
    EXPECT_FALSE(lapic.interrupt_pending());
}

TEST_F(LapicTimerTest, DivideConfiguration)
{
    lapic.mmio_write(kLvtTimer, 0x40);
    const std::pair<uint32_t, uint64_t> cases[] = { { kDivideBy1, 1 }, { kDivideBy2, 2 }, { kDivideBy16, 16 }, { kDivideBy128, 128 } };
    for (auto [code, divisor] : cases) {
        lapic.mmio_write(kTimerDivide, code);
        EXPECT_EQ(lapic.mmio_read(kTimerDivide), code);
        lapic.mmio_write(kTimerInitial, 100);
        EXPECT_EQ(lapic.next_deadline_ns(), host.now + 100 * divisor) << divisor;
        advance(10 * divisor);
        EXPECT_EQ(lapic.mmio_read(kTimerCurrent), 90u);
        lapic.mmio_write(kTimerInitial, 0); // stops
        EXPECT_EQ(lapic.next_deadline_ns(), std::nullopt);
    }
    lapic.mmio_write(kTimerDivide, 0xffffffff);
    EXPECT_EQ(lapic.mmio_read(kTimerDivide), 0xbu); // only bits 0, 1, 3
}

TEST_F(LapicTimerTest, DivideChangeWhileCounting)
{
    lapic.mmio_write(kTimerDivide, kDivideBy1);
    lapic.mmio_write(kLvtTimer, 0x40);
    lapic.mmio_write(kTimerInitial, 1000);
    advance(500);
    lapic.mmio_write(kTimerDivide, kDivideBy2);
    EXPECT_EQ(lapic.mmio_read(kTimerCurrent), 500u);
    EXPECT_EQ(lapic.next_deadline_ns(), host.now + 1000);
}

TEST_F(LapicTimerTest, PeriodicReloadsAndCollapsesMissedPeriods)
{
    lapic.mmio_write(kTimerDivide, kDivideBy1);
    lapic.mmio_write(kLvtTimer, kPeriodic | 0x41);
    lapic.mmio_write(kTimerInitial, 200'000);
    uint64_t start = host.now;
    advance(200'000);
    EXPECT_TRUE(fired(0x41));
    EXPECT_EQ(lapic.next_deadline_ns(), start + 400'000);
    advance(50'000);
    EXPECT_EQ(lapic.mmio_read(kTimerCurrent), 150'000u);
    advance(1'000'000); // five periods late: one interrupt
    EXPECT_TRUE(fired(0x41));
    EXPECT_FALSE(lapic.interrupt_pending());
    EXPECT_EQ(lapic.next_deadline_ns(), start + 1'400'000);
}

TEST_F(LapicTimerTest, MaskedTimerCountsButDoesNotFire)
{
    lapic.mmio_write(kTimerDivide, kDivideBy1);
    lapic.mmio_write(kLvtTimer, kMasked | 0x42);
    lapic.mmio_write(kTimerInitial, 100);
    EXPECT_EQ(lapic.next_deadline_ns(), std::nullopt); // nothing to wake for
    advance(50);
    EXPECT_EQ(lapic.mmio_read(kTimerCurrent), 50u);
    host.now += 100; // no update_timer while masked
    lapic.mmio_write(kLvtTimer, 0x42);
    lapic.update_timer(host.now);
    EXPECT_FALSE(lapic.interrupt_pending()); // the expiry under the mask is not replayed
}

TEST_F(LapicTimerTest, TscDeadline)
{
    lapic.mmio_write(kLvtTimer, kTscDeadline | 0x43);
    lapic.mmio_write(kTimerInitial, 100); // ignored in this mode
    EXPECT_EQ(lapic.mmio_read(kTimerInitial), 0u);
    uint64_t tsc = (host.now + 3000) * 2; // the fake TSC runs at 2 GHz
    ASSERT_EQ(lapic.msr_write(0x6e0, tsc), MsrAccess::Ok);
    uint64_t value = 0;
    ASSERT_EQ(lapic.msr_read(0x6e0, value), MsrAccess::Ok);
    EXPECT_EQ(value, tsc);
    EXPECT_EQ(lapic.next_deadline_ns(), host.now + 3000);
    advance(2999);
    EXPECT_FALSE(lapic.interrupt_pending());
    advance(1);
    EXPECT_TRUE(fired(0x43));
    ASSERT_EQ(lapic.msr_read(0x6e0, value), MsrAccess::Ok);
    EXPECT_EQ(value, 0u); // cleared on expiry
    ASSERT_EQ(lapic.msr_write(0x6e0, tsc + 10'000), MsrAccess::Ok);
    ASSERT_EQ(lapic.msr_write(0x6e0, 0), MsrAccess::Ok); // disarm
    EXPECT_EQ(lapic.next_deadline_ns(), std::nullopt);
}

TEST_F(LapicTimerTest, ModeSwitchToTscDeadlineDisarms)
{
    lapic.mmio_write(kLvtTimer, 0x44);
    lapic.mmio_write(kTimerInitial, 1000);
    lapic.mmio_write(kLvtTimer, kTscDeadline | 0x44);
    EXPECT_EQ(lapic.next_deadline_ns(), std::nullopt);
    ASSERT_EQ(lapic.msr_write(0x6e0, 5), MsrAccess::Ok);
    lapic.mmio_write(kLvtTimer, 0x44); // back to one-shot: the deadline is gone too
    uint64_t value = 1;
    ASSERT_EQ(lapic.msr_read(0x6e0, value), MsrAccess::Ok);
    EXPECT_EQ(value, 0u);
    EXPECT_EQ(lapic.next_deadline_ns(), std::nullopt);
}

TEST_F(LapicTimerTest, DeadlineOutsideTscModeIsIgnored)
{
    ASSERT_EQ(lapic.msr_write(0x6e0, 12345), MsrAccess::Ok);
    EXPECT_EQ(lapic.next_deadline_ns(), std::nullopt);
}

} // namespace
} // namespace xkvm::irqchip::test

// One 8254 counter against the datasheet: counts read back at chosen instants, OUT, edges, gate,
// latches and read-back status, access modes, BCD. Times are exact tick boundaries: at(k) is the
// first nanosecond at which k input clocks have passed since the count was loaded at kT0.
#include <gtest/gtest.h>

#include "devices/i8254_channel.h"

using xkvm::devices::PitChannel;

namespace {

constexpr uint64_t kT0 = 1'000'000'000'000;
uint64_t after(uint64_t from, uint64_t ticks) { return from + PitChannel::ns_for_ticks(ticks); }
uint64_t at(uint64_t ticks) { return after(kT0, ticks); }

// Control word with LSB-then-MSB access, then the count, all at `now`.
void start(PitChannel& ch, uint8_t mode, uint16_t count, uint64_t now = kT0, bool bcd = false)
{
    ch.program(3, mode, bcd, now);
    ch.write(static_cast<uint8_t>(count), now);
    ch.write(static_cast<uint8_t>(count >> 8), now);
}

// Latched 16-bit read, as a guest does it.
uint16_t count(PitChannel& ch, uint64_t now)
{
    ch.latch_count(now);
    uint8_t lo = ch.read(now);
    return static_cast<uint16_t>(lo | ch.read(now) << 8);
}

uint8_t status(PitChannel& ch, uint64_t now)
{
    ch.latch_status(now);
    return ch.read(now);
}

} // namespace

TEST(PitChannel, TickConversionRoundTripsExactly)
{
    for (uint64_t k : { 0ull, 1ull, 2ull, 1193ull, 1193181ull, 1193182ull, 1193183ull, 123456789ull, 1ull << 40 }) {
        uint64_t ns = PitChannel::ns_for_ticks(k);
        EXPECT_EQ(PitChannel::ticks_in(ns), k) << k;
        if (k > 0) {
            EXPECT_EQ(PitChannel::ticks_in(ns - 1), k - 1) << k;
        }
    }
    EXPECT_EQ(PitChannel::ticks_in(1'000'000'000), PitChannel::kInputHz);
}

TEST(PitChannel, Mode0CountsDownThenOutStaysHigh)
{
    PitChannel ch;
    ch.program(3, 0, false, kT0);
    EXPECT_FALSE(ch.out(kT0)) << "a mode 0 control word drives OUT low";
    ch.write(1000 & 0xff, kT0);
    ch.write(1000 >> 8, kT0);
    EXPECT_EQ(count(ch, at(0)), 1000);
    EXPECT_EQ(count(ch, at(1)), 999);
    EXPECT_EQ(count(ch, at(999)), 1);
    EXPECT_FALSE(ch.out(at(999)));
    EXPECT_EQ(ch.next_rising_edge(at(999)), at(1000));
    EXPECT_FALSE(ch.take_rising_edge(at(999)));
    EXPECT_EQ(count(ch, at(1000)), 0);
    EXPECT_TRUE(ch.out(at(1000)));
    EXPECT_TRUE(ch.take_rising_edge(at(1000)));
    EXPECT_FALSE(ch.take_rising_edge(at(1000)));
    EXPECT_EQ(count(ch, at(1001)), 0xffff) << "the counter wraps and keeps counting";
    EXPECT_TRUE(ch.out(at(70000)));
    EXPECT_FALSE(ch.take_rising_edge(at(70000))) << "one edge per count written";
    EXPECT_EQ(ch.next_rising_edge(at(70000)), std::nullopt);
}

TEST(PitChannel, Mode0FirstByteOfANewCountStopsTheCounter)
{
    PitChannel ch;
    start(ch, 0, 1000);
    ASSERT_TRUE(ch.out(at(1500)));
    ASSERT_TRUE(ch.take_rising_edge(at(1500)));
    uint16_t frozen = count(ch, at(1500));
    ch.write(500 & 0xff, at(1500));
    EXPECT_FALSE(ch.out(at(1500))) << "OUT drops with the first byte";
    EXPECT_EQ(count(ch, at(1600)), frozen);
    EXPECT_EQ(ch.next_rising_edge(at(1600)), std::nullopt);
    ch.write(500 >> 8, at(1600));
    EXPECT_EQ(count(ch, at(1600)), 500);
    EXPECT_EQ(ch.next_rising_edge(at(1600)), after(at(1600), 500));
    EXPECT_TRUE(ch.out(after(at(1600), 500)));
}

TEST(PitChannel, Mode0LowGatePausesCountingAndHoldsOut)
{
    PitChannel ch;
    start(ch, 0, 1000);
    ch.set_gate(false, at(100));
    EXPECT_EQ(count(ch, at(100)), 900);
    EXPECT_EQ(count(ch, at(5000)), 900);
    EXPECT_FALSE(ch.out(at(5000)));
    EXPECT_EQ(ch.next_rising_edge(at(5000)), std::nullopt);
    ch.set_gate(true, at(5000));
    EXPECT_EQ(count(ch, after(at(5000), 899)), 1);
    EXPECT_EQ(ch.next_rising_edge(at(5000)), after(at(5000), 900));
    EXPECT_TRUE(ch.take_rising_edge(after(at(5000), 900)));
}

TEST(PitChannel, Mode0CountWrittenWithGateLowIsLoadedButWaits)
{
    PitChannel ch;
    ch.set_gate(false, kT0);
    start(ch, 0, 300);
    EXPECT_EQ(status(ch, at(10)) & 0x40, 0) << "loaded: no null count";
    EXPECT_EQ(count(ch, at(1000)), 300);
    ch.set_gate(true, at(1000));
    EXPECT_EQ(count(ch, after(at(1000), 100)), 200);
    EXPECT_EQ(ch.next_rising_edge(at(1000)), after(at(1000), 300));
}

TEST(PitChannel, Mode1IsAOneShotTriggeredAndRetriggeredByTheGate)
{
    PitChannel ch;
    start(ch, 1, 100);
    EXPECT_TRUE(ch.out(at(50)));
    EXPECT_EQ(ch.next_rising_edge(at(50)), std::nullopt) << "armed, waiting for a trigger";
    EXPECT_NE(status(ch, at(50)) & 0x40, 0) << "not in the counter until the trigger";
    ch.set_gate(false, at(50));
    ch.set_gate(true, at(60));
    EXPECT_FALSE(ch.out(at(60)));
    EXPECT_EQ(count(ch, after(at(60), 30)), 70);
    ch.set_gate(false, after(at(60), 40)); // a low gate does not stop mode 1
    EXPECT_EQ(count(ch, after(at(60), 50)), 50);
    ch.set_gate(true, after(at(60), 50)); // retrigger: a full count again from here
    uint64_t t = after(at(60), 50);
    EXPECT_FALSE(ch.out(after(t, 99)));
    EXPECT_TRUE(ch.out(after(t, 100)));
    EXPECT_TRUE(ch.take_rising_edge(after(t, 100)));
}

TEST(PitChannel, Mode2IsARateGeneratorWithOneLowClockPerPeriod)
{
    PitChannel ch;
    ch.program(3, 2, false, kT0);
    EXPECT_TRUE(ch.out(kT0)) << "every mode but 0 starts with OUT high";
    ch.write(100, kT0);
    ch.write(0, kT0);
    EXPECT_EQ(count(ch, at(0)), 100);
    EXPECT_EQ(count(ch, at(99)), 1);
    EXPECT_EQ(count(ch, at(100)), 100) << "reloaded at the end of the period";
    EXPECT_EQ(count(ch, at(150)), 50);
    EXPECT_TRUE(ch.out(at(98)));
    EXPECT_FALSE(ch.out(at(99)));
    EXPECT_TRUE(ch.out(at(100)));
    EXPECT_FALSE(ch.out(at(199)));
    EXPECT_EQ(ch.next_rising_edge(at(150)), at(200));
    EXPECT_TRUE(ch.take_rising_edge(at(1050)));
    EXPECT_FALSE(ch.take_rising_edge(at(1099))) << "ten periods collapse into one edge";
    EXPECT_EQ(ch.next_rising_edge(at(1099)), at(1100));
}

TEST(PitChannel, Mode2NewCountTakesOverAtTheEndOfThePeriod)
{
    PitChannel ch;
    start(ch, 2, 100);
    ASSERT_TRUE(ch.take_rising_edge(at(150)));
    ch.write(40, at(150));
    ch.write(0, at(150));
    EXPECT_NE(status(ch, at(150)) & 0x40, 0) << "null count until the reload";
    EXPECT_EQ(count(ch, at(199)), 1) << "the current period finishes with the old count";
    EXPECT_EQ(ch.next_rising_edge(at(199)), at(200));
    EXPECT_EQ(count(ch, at(200)), 40);
    EXPECT_EQ(status(ch, at(200)) & 0x40, 0);
    EXPECT_TRUE(ch.take_rising_edge(at(200)));
    EXPECT_EQ(count(ch, after(at(200), 39)), 1);
    EXPECT_EQ(ch.next_rising_edge(after(at(200), 39)), after(at(200), 40));
}

TEST(PitChannel, Mode2LowGateForcesOutHighAndTheRisingGateRestarts)
{
    PitChannel ch;
    start(ch, 2, 100);
    ASSERT_FALSE(ch.out(at(99)));
    ch.set_gate(false, at(99));
    EXPECT_TRUE(ch.out(at(99)));
    EXPECT_EQ(count(ch, at(300)), 1);
    EXPECT_EQ(ch.next_rising_edge(at(300)), std::nullopt);
    ch.set_gate(true, at(300));
    EXPECT_EQ(count(ch, at(300)), 100);
    EXPECT_EQ(ch.next_rising_edge(at(300)), after(at(300), 100));
}

TEST(PitChannel, Mode3EvenCountIsASquareWaveCountingByTwo)
{
    PitChannel ch;
    start(ch, 3, 10);
    EXPECT_EQ(ch.next_rising_edge(kT0), at(10));
    const uint16_t counts[] = { 10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10 };
    for (uint64_t k = 0; k <= 10; ++k) {
        EXPECT_EQ(count(ch, at(k)), counts[k]) << k;
        EXPECT_EQ(ch.out(at(k)), k % 10 < 5) << k;
    }
    EXPECT_TRUE(ch.take_rising_edge(at(10)));
    EXPECT_EQ(ch.next_rising_edge(at(10)), at(20));
}

TEST(PitChannel, Mode3OddCountHasTheLongerHalfHigh)
{
    PitChannel ch;
    start(ch, 3, 5);
    // Intel: N - 1 is loaded and counted down by two; OUT falls one clock after it expires.
    const uint16_t counts[] = { 4, 2, 0, 4, 2, 4 };
    const bool outs[] = { true, true, true, false, false, true };
    for (uint64_t k = 0; k <= 5; ++k) {
        EXPECT_EQ(count(ch, at(k)), counts[k]) << k;
        EXPECT_EQ(ch.out(at(k)), outs[k]) << k;
    }
}

TEST(PitChannel, Mode3NewCountTakesOverAtTheEndOfTheHalfCycle)
{
    PitChannel ch;
    start(ch, 3, 100);
    ch.write(20, at(10)); // in the high half: OUT falls at 50 and the new count starts low
    ch.write(0, at(10));
    EXPECT_EQ(ch.next_rising_edge(at(10)), after(at(50), 10));
    EXPECT_EQ(count(ch, at(49)), 2);
    EXPECT_TRUE(ch.out(at(49)));
    EXPECT_FALSE(ch.out(at(50)));
    EXPECT_EQ(count(ch, at(50)), 20);
    EXPECT_FALSE(ch.take_rising_edge(at(50))) << "OUT fell at the takeover";
    EXPECT_TRUE(ch.out(after(at(50), 10)));
    EXPECT_TRUE(ch.take_rising_edge(after(at(50), 10)));
    EXPECT_EQ(ch.next_rising_edge(after(at(50), 10)), after(at(50), 30));

    PitChannel low;
    start(low, 3, 100);
    low.write(20, at(60)); // in the low half: the takeover is the period's end, a rising edge
    low.write(0, at(60));
    EXPECT_EQ(low.next_rising_edge(at(60)), at(100));
    EXPECT_EQ(count(low, at(99)), 2);
    EXPECT_TRUE(low.take_rising_edge(at(100)));
    EXPECT_EQ(count(low, at(100)), 20);
    EXPECT_TRUE(low.out(after(at(100), 9)));
    EXPECT_FALSE(low.out(after(at(100), 10)));
}

TEST(PitChannel, Mode4StrobesOnceAfterTheCount)
{
    PitChannel ch;
    start(ch, 4, 100);
    EXPECT_EQ(ch.next_rising_edge(at(50)), at(101));
    EXPECT_TRUE(ch.out(at(99)));
    EXPECT_FALSE(ch.out(at(100))) << "low for the one clock at terminal count";
    EXPECT_TRUE(ch.out(at(101)));
    EXPECT_TRUE(ch.take_rising_edge(at(101)));
    EXPECT_TRUE(ch.out(at(100 + 0x10000)));
    EXPECT_EQ(ch.next_rising_edge(at(200000)), std::nullopt);
}

TEST(PitChannel, Mode5StrobesAfterAGateTrigger)
{
    PitChannel ch;
    start(ch, 5, 50);
    EXPECT_EQ(ch.next_rising_edge(at(1000)), std::nullopt);
    ch.set_gate(false, at(1000));
    ch.set_gate(true, at(1001));
    uint64_t t = at(1001);
    EXPECT_TRUE(ch.out(after(t, 49)));
    EXPECT_FALSE(ch.out(after(t, 50)));
    EXPECT_EQ(ch.next_rising_edge(t), after(t, 51));
}

TEST(PitChannel, ModeBits6And7AreModes2And3)
{
    PitChannel ch;
    start(ch, 6, 100);
    EXPECT_EQ(ch.mode(), 2);
    EXPECT_EQ(status(ch, at(1)), 0x80 | 0x30 | 6 << 1) << "status shows the bits as written";
    start(ch, 7, 100, at(2));
    EXPECT_EQ(ch.mode(), 3);
}

TEST(PitChannel, BcdCountsInDecimal)
{
    PitChannel ch;
    start(ch, 0, 0x1234, kT0, true);
    EXPECT_EQ(count(ch, at(0)), 0x1234);
    EXPECT_EQ(count(ch, at(35)), 0x1199);
    EXPECT_EQ(status(ch, at(35)) & 1, 1);
    EXPECT_EQ(ch.next_rising_edge(at(35)), at(1234));
    PitChannel full;
    start(full, 0, 0, kT0, true); // 0 is 10000 in BCD
    EXPECT_EQ(count(full, at(0)), 0);
    EXPECT_EQ(count(full, at(1)), 0x9999);
    EXPECT_EQ(full.next_rising_edge(at(1)), at(10000));
}

TEST(PitChannel, BinaryZeroIs65536)
{
    PitChannel ch;
    start(ch, 2, 0);
    EXPECT_EQ(count(ch, at(0)), 0);
    EXPECT_EQ(count(ch, at(1)), 0xffff);
    EXPECT_EQ(ch.next_rising_edge(at(1)), at(0x10000));
}

TEST(PitChannel, LatchHoldsTheCountUntilBothBytesAreRead)
{
    PitChannel ch;
    start(ch, 2, 1000);
    ch.latch_count(at(10));
    ch.latch_count(at(20)); // ignored: the first latch is still unread
    EXPECT_EQ(ch.read(at(50)), 990 & 0xff);
    EXPECT_EQ(ch.read(at(90)), 990 >> 8);
    // Unlatched reads follow the counter byte by byte.
    EXPECT_EQ(ch.read(at(100)), 900 & 0xff);
    EXPECT_EQ(ch.read(at(400)), 600 >> 8);
}

TEST(PitChannel, AccessModesSequenceTheBytes)
{
    PitChannel lsb;
    lsb.program(1, 0, false, kT0);
    lsb.write(0x20, kT0);
    EXPECT_EQ(lsb.read(at(0)), 0x20);
    EXPECT_EQ(lsb.read(at(1)), 0x1f) << "LSB only: every read is the low byte";
    EXPECT_EQ(lsb.next_rising_edge(at(1)), at(0x20));

    PitChannel msb;
    msb.program(2, 0, false, kT0);
    msb.write(0x12, kT0);
    EXPECT_EQ(msb.read(at(0)), 0x12);
    EXPECT_EQ(msb.read(at(1)), 0x11) << "MSB only: 0x1200 - 1 reads 0x11 high";
    EXPECT_EQ(msb.next_rising_edge(at(1)), at(0x1200));

    // LSB then MSB: reads and writes have their own byte pointers and may interleave.
    PitChannel both;
    start(both, 2, 0x5000);
    both.latch_count(at(0));
    EXPECT_EQ(both.read(at(0)), 0x00);
    both.write(0x34, at(0));
    EXPECT_EQ(both.read(at(0)), 0x50);
    both.write(0x12, at(0));
    EXPECT_EQ(count(both, at(0x5000)), 0x1234) << "the new count took over at the period's end";
}

TEST(PitChannel, ReadBackStatusReportsOutNullCountAndProgramming)
{
    PitChannel ch;
    ch.program(3, 2, false, kT0);
    EXPECT_EQ(status(ch, kT0), 0x80 | 0x40 | 0x30 | 2 << 1);
    ch.write(100, kT0);
    ch.write(0, kT0);
    EXPECT_EQ(status(ch, kT0), 0x80 | 0x30 | 2 << 1);
    EXPECT_EQ(status(ch, at(99)), 0x30 | 2 << 1) << "OUT low in the last clock of the period";

    PitChannel m0;
    m0.program(1, 0, false, kT0);
    EXPECT_EQ(status(m0, kT0), 0x40 | 0x10);
    m0.write(50, kT0);
    EXPECT_EQ(status(m0, at(49)), 0x10);
    EXPECT_EQ(status(m0, at(50)), 0x80 | 0x10);
}

TEST(PitChannel, StatusIsReadBeforeALatchedCount)
{
    PitChannel ch;
    start(ch, 2, 1000);
    ch.latch_count(at(10));
    ch.latch_status(at(20));
    ch.latch_status(at(25)); // ignored until the first is read
    EXPECT_EQ(ch.read(at(30)), 0x80 | 0x30 | 2 << 1);
    EXPECT_EQ(ch.read(at(30)), 990 & 0xff);
    EXPECT_EQ(ch.read(at(30)), 990 >> 8);
    EXPECT_EQ(count(ch, at(40)), 960);
}

TEST(PitChannel, AControlWordDropsLatchesAndStopsTheCount)
{
    PitChannel ch;
    start(ch, 2, 1000);
    ch.latch_count(at(10));
    ch.read(at(10)); // half a latched read pending
    ch.program(3, 2, false, at(100));
    EXPECT_EQ(ch.next_rising_edge(at(100)), std::nullopt) << "no count yet";
    EXPECT_EQ(count(ch, at(500)), 900) << "fresh byte pointer, live (held) count";
}

// The PIT through its ports on a FakeDeviceClock: IRQ 0 edges at the programmed rate with no drift,
// one-shots, stopping, a late or racy timer thread, port 0x61, and accesses no real guest makes.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "devices/fake_device_clock.h"
#include "devices/i8254_pit.h"

using namespace xkvm::devices;
using xkvm::devices::testing::FakeDeviceClock;

namespace {

constexpr uint16_t kCount1kHz = 1193; // 1000.15 Hz

struct Rig {
    FakeDeviceClock clock;
    const uint64_t t0 = clock.now_ns();
    std::vector<uint64_t> edges; // when IRQ 0 rose
    bool level = false;
    bool bad_pulse = false; // a rise while high or a fall while low: not a clean pulse
    I8254Pit pit { clock, [this](bool l) {
                      bad_pulse |= l == level;
                      level = l;
                      if (l)
                          edges.push_back(clock.now_ns());
                  } };
    IoBus bus;

    Rig()
    {
        EXPECT_TRUE(bus.claim(kPitBase, kPitPorts, &pit, "pit"));
        EXPECT_TRUE(bus.claim(kSystemControlPort, 1, &pit.control_port(), "port 0x61"));
    }
    void out(uint16_t port, uint8_t v) { bus.write(port, std::span(&v, 1)); }
    uint8_t in(uint16_t port)
    {
        uint8_t v = 0;
        bus.read(port, std::span(&v, 1));
        return v;
    }
    // Control word, then LSB and MSB.
    void program(unsigned counter, uint8_t mode, uint16_t count)
    {
        out(0x43, static_cast<uint8_t>(counter << 6 | 0x30 | mode << 1));
        out(static_cast<uint16_t>(0x40 + counter), static_cast<uint8_t>(count));
        out(static_cast<uint16_t>(0x40 + counter), static_cast<uint8_t>(count >> 8));
    }
    uint16_t latched(unsigned counter)
    {
        out(0x43, static_cast<uint8_t>(counter << 6));
        uint8_t lo = in(static_cast<uint16_t>(0x40 + counter));
        return static_cast<uint16_t>(lo | in(static_cast<uint16_t>(0x40 + counter)) << 8);
    }
    uint64_t after(uint64_t from, uint64_t ticks) const { return from + PitChannel::ns_for_ticks(ticks); }
};

} // namespace

TEST(I8254Pit, PeriodicIrq0HasNoDriftOverTenSeconds)
{
    for (uint8_t mode : { 2, 3 }) {
        Rig r;
        r.program(0, mode, kCount1kHz);
        r.clock.advance(10'000'000'000);
        uint64_t expected = PitChannel::ticks_in(10'000'000'000) / kCount1kHz;
        ASSERT_EQ(r.edges.size(), expected) << "mode " << int(mode);
        EXPECT_EQ(expected, 10001u) << "1000.15 Hz for 10 s";
        // Every edge exactly on the grid of the input clock, however far into the run.
        for (size_t k = 0; k < r.edges.size(); ++k)
            ASSERT_EQ(r.edges[k], r.after(r.t0, (k + 1) * kCount1kHz)) << "edge " << k;
        EXPECT_EQ(r.clock.alarms_run(), expected) << "one alarm per edge";
        EXPECT_EQ(r.clock.pending(), 1u);
        EXPECT_FALSE(r.bad_pulse);
    }
}

TEST(I8254Pit, Mode0OneShotFiresOnce)
{
    Rig r;
    r.program(0, 0, 11932); // 10 ms
    EXPECT_EQ(r.clock.next_deadline(), r.after(r.t0, 11932));
    r.clock.advance(1'000'000'000);
    ASSERT_EQ(r.edges.size(), 1u);
    EXPECT_EQ(r.edges[0], r.after(r.t0, 11932));
    EXPECT_EQ(r.clock.pending(), 0u) << "nothing left to wake for";
    EXPECT_FALSE(r.level);
}

TEST(I8254Pit, Mode4OneShotStrobesOnceAClockLater)
{
    Rig r;
    r.program(0, 4, 1000);
    r.clock.advance(500'000'000);
    ASSERT_EQ(r.edges.size(), 1u);
    EXPECT_EQ(r.edges[0], r.after(r.t0, 1001));
}

TEST(I8254Pit, AControlWordWithoutACountStopsTheEdges)
{
    Rig r;
    r.program(0, 2, kCount1kHz);
    r.clock.advance(5'500'000);
    ASSERT_EQ(r.edges.size(), 5u);
    r.out(0x43, 0x30); // mode 0, no count: what Linux writes to shut the PIT down
    EXPECT_EQ(r.clock.pending(), 0u);
    r.clock.advance(1'000'000'000);
    EXPECT_EQ(r.edges.size(), 5u);

    // A new rate starts from its own count, not the old grid.
    uint64_t t = r.clock.now_ns();
    r.program(0, 2, 2 * kCount1kHz);
    r.clock.advance(100'000'000);
    ASSERT_EQ(r.edges.size(), 5u + 50);
    EXPECT_EQ(r.edges.back(), r.after(t, 50 * 2 * kCount1kHz));
}

TEST(I8254Pit, PeriodicCountRewrittenTakesOverAtThePeriodsEnd)
{
    Rig r;
    r.program(0, 2, kCount1kHz);
    r.clock.advance(500'000);
    r.out(0x40, 0x00); // 2 * 1193 = 0x0952, LSB then MSB as programmed
    r.out(0x40, 0x00);
    r.out(0x40, static_cast<uint8_t>(2 * kCount1kHz));
    r.out(0x40, static_cast<uint8_t>(2 * kCount1kHz >> 8));
    r.clock.advance(100'000'000);
    ASSERT_GE(r.edges.size(), 3u);
    // The rewrites above: 0x0000 (65536) then 0x0952; the last one decides after the first period.
    EXPECT_EQ(r.edges[0], r.after(r.t0, kCount1kHz));
    EXPECT_EQ(r.edges[1], r.after(r.edges[0], 2 * kCount1kHz));
    EXPECT_EQ(r.edges[2], r.after(r.edges[0], 2 * 2 * kCount1kHz));
}

TEST(I8254Pit, LateTimerThreadCollapsesMissedPeriodsIntoOneEdge)
{
    Rig r;
    r.program(0, 2, kCount1kHz);
    r.clock.advance(1'000'000);
    ASSERT_EQ(r.edges.size(), 1u);
    r.clock.jump(50'000'000); // the timer thread stalls for 50 periods
    r.clock.run_due();
    ASSERT_EQ(r.edges.size(), 2u) << "no burst of catch-up interrupts";
    EXPECT_EQ(r.edges[1], r.clock.now_ns()) << "delivered late, when the thread woke";
    // The next one is back on the original grid, at the first boundary after now.
    uint64_t now = r.clock.now_ns();
    uint64_t k = PitChannel::ticks_in(now - r.t0) / kCount1kHz + 1;
    EXPECT_EQ(r.clock.next_deadline(), r.after(r.t0, k * kCount1kHz));
    r.clock.advance(10'000'000);
    EXPECT_EQ(r.edges.size(), 2 + PitChannel::ticks_in(r.clock.now_ns() - r.t0) / kCount1kHz - (k - 1));
    EXPECT_EQ(r.edges[2], r.after(r.t0, k * kCount1kHz));
}

TEST(I8254Pit, RacyCancelNeverDeliversAStaleEdgeNorDoublesTheAlarms)
{
    Rig r;
    r.clock.set_racy_cancel(true); // every cancelled alarm still runs
    r.program(0, 0, 11932);        // a one-shot due in 10 ms...
    r.clock.advance(5'000'000);
    r.program(0, 0, 59659); // ...moved to 50 ms from now
    for (int i = 0; i < 20; ++i) {
        r.clock.advance(100'000);
        r.out(0x43, 0x34); // and periodic, restarted from here every 100 us: never due
        r.out(0x40, static_cast<uint8_t>(kCount1kHz));
        r.out(0x40, kCount1kHz >> 8);
    }
    uint64_t restarted = r.clock.now_ns();
    EXPECT_GE(r.clock.cancels(), 21u);
    EXPECT_TRUE(r.edges.empty()) << "the first one-shot's alarm ran after its cancel";
    r.clock.advance(100'000'000); // past every stale alarm, the 50 ms one's included
    ASSERT_EQ(r.edges.size(), PitChannel::ticks_in(r.clock.now_ns() - restarted) / kCount1kHz);
    EXPECT_EQ(r.edges.size(), 100u);
    for (size_t k = 0; k < r.edges.size(); ++k)
        EXPECT_EQ(r.edges[k], r.after(restarted, (k + 1) * kCount1kHz));
    EXPECT_EQ(r.clock.pending(), 1u) << "one alarm chain, not one per stale alarm";
}

TEST(I8254Pit, TinyCountsAreRateLimited)
{
    Rig r;
    r.program(0, 2, 2); // 597 kHz
    r.clock.advance(10'000'000);
    uint64_t limit = 10'000'000 / I8254Pit::kMinAlarmGapNs + 1;
    EXPECT_LE(r.clock.alarms_run(), limit);
    EXPECT_GE(r.edges.size(), limit - 2);
    EXPECT_FALSE(r.clock.runaway());
}

TEST(I8254Pit, ReadBackThroughThePorts)
{
    Rig r;
    r.program(0, 2, 1000);
    r.program(2, 0, 500);
    r.clock.advance(PitChannel::ns_for_ticks(100));
    r.out(0x43, 0xc0 | 0x08 | 0x02); // latch count and status of counters 0 and 2
    EXPECT_EQ(r.in(0x40), 0x80 | 0x30 | 2 << 1);
    EXPECT_EQ(r.in(0x40) | r.in(0x40) << 8, 900);
    EXPECT_EQ(r.in(0x42), 0x30) << "mode 0, OUT low, loaded";
    EXPECT_EQ(r.in(0x42) | r.in(0x42) << 8, 500) << "gate 2 starts low (port 0x61 is 0)";
    r.out(0x43, 0xc0 | 0x20 | 0x04); // status only, counter 1: never programmed
    EXPECT_EQ(r.in(0x41) & 0x40, 0x40) << "null count";
    EXPECT_EQ(r.latched(0), 900) << "latched reads of the live count";
}

TEST(I8254Pit, Port61GatesCounter2AndShowsItsOut)
{
    Rig r;
    r.out(0x61, 0x00); // gate off, speaker off
    r.program(2, 0, 11932);
    EXPECT_EQ(r.in(0x61) & 0x20, 0);
    r.clock.advance(20'000'000);
    EXPECT_EQ(r.in(0x61) & 0x20, 0) << "a low gate holds mode 0";
    EXPECT_EQ(r.latched(2), 11932);
    // The calibration loop: gate on, poll bit 5.
    r.out(0x61, 0x01);
    uint64_t gate_on = r.clock.now_ns();
    int polls = 0;
    while (!(r.in(0x61) & 0x20) && polls < 2000) {
        r.clock.advance(10'000);
        ++polls;
    }
    uint64_t seen = r.clock.now_ns();
    EXPECT_GE(seen, r.after(gate_on, 11932));
    EXPECT_LT(seen, r.after(gate_on, 11932) + 10'000);
    EXPECT_TRUE(r.edges.empty()) << "counter 2 drives no interrupt";
    EXPECT_EQ(r.clock.pending(), 0u) << "and needs no alarm";

    r.out(0x61, 0xff);
    uint8_t a = r.in(0x61), b = r.in(0x61);
    EXPECT_EQ(a & 0x0f, 0x0f) << "gate, speaker and the check-enable bits read back";
    EXPECT_EQ(a & 0xc0, 0);
    EXPECT_NE(a & 0x10, b & 0x10) << "the refresh bit toggles";
}

TEST(I8254Pit, WideAccessesAreSplitIntoPorts)
{
    Rig r;
    r.out(0x43, 0x10); // counter 0, LSB only, mode 0
    r.out(0x43, 0x50); // counter 1, LSB only, mode 0
    uint8_t word[2] = { 0x12, 0x34 };
    r.bus.write(0x40, word); // 0x12 to counter 0, 0x34 to counter 1
    uint8_t got[4] = {};
    r.bus.read(0x40, got);
    EXPECT_EQ(got[0], 0x12);
    EXPECT_EQ(got[1], 0x34);
    EXPECT_EQ(got[3], 0xff) << "the control word reads as an idle bus";
    r.bus.read(0x43, std::span(got, 4));
    EXPECT_EQ(got[0], 0xff);
    EXPECT_EQ(got[1], 0xff) << "past the PIT's ports";
}

TEST(I8254Pit, AnyAccessPatternIsHarmless)
{
    Rig r;
    std::mt19937_64 rng(8254);
    uint8_t buf[8];
    for (int i = 0; i < 200'000; ++i) {
        uint64_t offset = rng() % 6;
        size_t len = rng() % 9;
        for (auto& b : buf)
            b = static_cast<uint8_t>(rng());
        IoDevice& dev = rng() % 4 ? static_cast<IoDevice&>(r.pit) : r.pit.control_port();
        if (rng() % 2)
            dev.io_write(offset, std::span<const uint8_t>(buf, len));
        else
            dev.io_read(offset, std::span(buf, len));
        if (i % 64 == 0)
            r.clock.advance(rng() % 2'000'000);
    }
    r.pit.io_read(~0ull, std::span(buf, 8));
    r.pit.io_write(~0ull - 1, std::span<const uint8_t>(buf, 8));
    r.pit.control_port().io_read(5, std::span(buf, 1));
    EXPECT_EQ(buf[0], 0xff);
    EXPECT_FALSE(r.clock.runaway());
    EXPECT_LE(r.clock.pending(), 1u);
    EXPECT_FALSE(r.bad_pulse);
    // And it still works as a PIT afterwards.
    r.out(0x43, 0x34); // delivers any edge still owed to the old programming
    size_t before = r.edges.size();
    uint64_t t = r.clock.now_ns();
    r.out(0x40, static_cast<uint8_t>(kCount1kHz));
    r.out(0x40, kCount1kHz >> 8);
    r.clock.advance(10'000'000);
    ASSERT_EQ(r.edges.size(), before + 10);
    EXPECT_EQ(r.edges.back(), r.after(t, 10 * kCount1kHz));
}

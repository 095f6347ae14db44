// Issue 11: guest deadlines where they become host delays. Clamped (never negative, never past
// the host clock's range), so a far-future deadline neither fires at once nor re-arms in a loop;
// timers indexed by id and capped per domain.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "vmm/guest_alarms.h"

using namespace xkvm::vmm;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t kAllOnes = ~uint64_t(0);

// Something to wait for with a timeout.
struct Latch {
    std::mutex m;
    std::condition_variable cv;
    bool set = false;
    void open()
    {
        std::lock_guard g(m);
        set = true;
        cv.notify_all();
    }
    bool wait(std::chrono::milliseconds timeout = 5s)
    {
        std::unique_lock l(m);
        return cv.wait_for(l, timeout, [&] { return set; });
    }
};

} // namespace

TEST(GuestAlarms, HostDelayIsClampedAndNeverNegative)
{
    EXPECT_EQ(GuestAlarms::host_delay(5, 10), 0ns);
    EXPECT_EQ(GuestAlarms::host_delay(10, 10), 0ns);
    EXPECT_EQ(GuestAlarms::host_delay(1010, 10), 1000ns);
    EXPECT_EQ(GuestAlarms::host_delay(kAllOnes, 0), GuestAlarms::kMaxHostDelay);
    EXPECT_EQ(GuestAlarms::host_delay(kAllOnes, 12345), GuestAlarms::kMaxHostDelay);
    // Gaps that do not fit a signed 64-bit count (the old code's negative delay).
    EXPECT_EQ(GuestAlarms::host_delay((uint64_t(1) << 63) + 5, 3), GuestAlarms::kMaxHostDelay);
    EXPECT_EQ(GuestAlarms::host_delay(kAllOnes, kAllOnes - 1), 1ns);
}

TEST(GuestAlarms, TimeoutAllOnesWaitsTheClampAndDoesNotStarveOtherAlarms)
{
    TimerService timers;
    std::atomic<uint64_t> guest_now { 1'000'000 };
    GuestAlarms alarms(timers, [&] { return guest_now.load(); });
    std::atomic<bool> far_ran { false };
    auto before = TimerService::Clock::now();
    uint64_t far = alarms.set(kAllOnes, [&] { far_ran = true; });
    ASSERT_NE(far, 0u);
    auto after = TimerService::Clock::now();
    auto next = timers.next_deadline();
    ASSERT_TRUE(next);
    EXPECT_GE(*next, before + GuestAlarms::kMaxHostDelay);
    EXPECT_LE(*next, after + GuestAlarms::kMaxHostDelay);
    // An alarm due now runs promptly: the far one is not spinning at the head of the queue (before
    // the clamp it fired at once and re-armed itself forever, and this one never ran).
    Latch near;
    ASSERT_NE(alarms.set(guest_now.load(), [&] { near.open(); }), 0u);
    ASSERT_TRUE(near.wait());
    EXPECT_FALSE(far_ran);
    EXPECT_EQ(alarms.early_wakes(), 0u);
    EXPECT_EQ(timers.pending(), 1u);
    alarms.cancel(far);
    EXPECT_EQ(timers.pending(), 0u);
}

TEST(GuestAlarms, PollingWithTimeoutAllOnesInALoopLeavesNothingArmed)
{
    // What SCHEDOP_poll with timeout ~0 does each round now: set, then cancel when the wait ends.
    TimerService timers;
    GuestAlarms alarms(timers, [] { return uint64_t(1'000'000); });
    std::atomic<int> ran { 0 };
    for (int round = 0; round < 100'000; ++round) {
        uint64_t id = alarms.set(kAllOnes, [&] { ++ran; });
        ASSERT_NE(id, 0u);
        alarms.cancel(id);
    }
    EXPECT_EQ(timers.pending(), 0u);
    EXPECT_EQ(ran.load(), 0);
    EXPECT_EQ(alarms.early_wakes(), 0u);
}

TEST(GuestAlarms, AnAlarmEarlyByTheGuestClockWaitsOn)
{
    TimerService timers;
    std::atomic<uint64_t> guest_now { 0 };
    GuestAlarms alarms(timers, [&] { return guest_now.load(); });
    Latch fired;
    std::atomic<uint64_t> fired_at { 0 };
    ASSERT_NE(alarms.set(1'000'000, [&] {
        fired_at = guest_now.load();
        fired.open();
    }), 0u);
    // The host's millisecond passes but the guest's clock stands still: the alarm must not run.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (alarms.early_wakes() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    ASSERT_GE(alarms.early_wakes(), 1u);
    EXPECT_FALSE(fired.set);
    guest_now = 1'000'000;
    ASSERT_TRUE(fired.wait());
    EXPECT_GE(fired_at.load(), 1'000'000u);
}

TEST(GuestAlarms, TheNumberOfAlarmsIsCapped)
{
    TimerService timers(16);
    GuestAlarms alarms(timers, [] { return uint64_t(0); });
    std::vector<uint64_t> ids;
    int refused = 0;
    for (int i = 0; i < 20; ++i) {
        uint64_t id = alarms.set(kAllOnes, [] { });
        if (id)
            ids.push_back(id);
        else
            ++refused;
    }
    EXPECT_EQ(ids.size(), 16u);
    EXPECT_EQ(refused, 4);
    EXPECT_EQ(timers.pending(), 16u);
    for (uint64_t id : ids)
        alarms.cancel(id);
    EXPECT_EQ(timers.pending(), 0u);
    EXPECT_NE(alarms.set(kAllOnes, [] { }), 0u);
}

TEST(TimerServiceIndex, CancelByIdAmongManyAndDuringTheCallback)
{
    TimerService timers(1'000'000);
    std::vector<uint64_t> ids;
    for (int i = 0; i < 100'000; ++i)
        ids.push_back(timers.schedule_in(1h + std::chrono::nanoseconds(i), [] { }));
    for (size_t i = 0; i < ids.size(); i += 2)
        EXPECT_TRUE(timers.cancel(ids[i]));
    EXPECT_FALSE(timers.cancel(ids[0]));
    EXPECT_EQ(timers.pending(), 50'000u);

    // Cancelled while its callback runs: its schedule_again must not bring it back.
    Latch running, cancelled, done;
    std::atomic<uint64_t> id { 0 };
    id = timers.schedule_in(0ns, [&] {
        running.open();
        cancelled.wait();
        timers.schedule_again(id, TimerService::Clock::now(), [] { });
        done.open();
    });
    ASSERT_TRUE(running.wait());
    EXPECT_FALSE(timers.cancel(id)); // not pending: running
    cancelled.open();
    ASSERT_TRUE(done.wait());
    EXPECT_EQ(timers.pending(), 50'000u);
}

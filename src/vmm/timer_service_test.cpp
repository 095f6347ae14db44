#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "vmm/timer_service.h"

using namespace xkvm::vmm;
using namespace std::chrono_literals;

TEST(TimerService, RunsInDeadlineOrderAndHonoursCancel)
{
    TimerService timers;
    std::mutex m;
    std::condition_variable cv;
    std::vector<int> order;
    auto record = [&](int v) {
        return [&, v] {
            std::lock_guard g(m);
            order.push_back(v);
            cv.notify_all();
        };
    };
    auto now = TimerService::Clock::now();
    timers.schedule(now + 30ms, record(3));
    uint64_t cancelled = timers.schedule(now + 20ms, record(99));
    timers.schedule(now + 10ms, record(1));
    EXPECT_TRUE(timers.cancel(cancelled));
    EXPECT_FALSE(timers.cancel(cancelled));
    std::unique_lock l(m);
    ASSERT_TRUE(cv.wait_for(l, 5s, [&] { return order.size() == 2; }));
    EXPECT_EQ(order, (std::vector<int> { 1, 3 }));
    // Never early.
    EXPECT_GE(TimerService::Clock::now(), now + 30ms);
}

TEST(TimerService, PeakCountsTheMostPendingAtOnceNotTheTotal)
{
    TimerService timers;
    auto later = TimerService::Clock::now() + 1h;
    EXPECT_EQ(timers.peak(), 0u);
    for (int round = 0; round < 100; ++round) {
        uint64_t a = timers.schedule(later, [] { });
        uint64_t b = timers.schedule(later, [] { });
        EXPECT_TRUE(timers.cancel(a));
        EXPECT_TRUE(timers.cancel(b));
    }
    EXPECT_EQ(timers.pending(), 0u);
    EXPECT_EQ(timers.peak(), 2u);
    for (int i = 0; i < 5; ++i)
        timers.schedule(later, [] { });
    EXPECT_EQ(timers.peak(), 5u);
}

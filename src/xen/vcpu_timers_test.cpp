// VcpuTimers against a host whose alarms the test fires by hand, on threads of its choosing.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>

#include "xen/vcpu_timers.h"

using namespace xkvm::xen;
using namespace std::chrono_literals;

namespace {

struct ManualHost : TimerHost {
    std::mutex lock;
    std::map<uint64_t, std::function<void()>> alarms;
    uint64_t next = 1;
    std::atomic<uint64_t> now { 0 };

    uint64_t system_time_ns() const override { return now.load(); }
    uint64_t set_alarm(uint64_t, std::function<void()> fn) override
    {
        std::lock_guard guard(lock);
        alarms[next] = std::move(fn);
        return next++;
    }
    void cancel_alarm(uint64_t handle) override
    {
        std::lock_guard guard(lock);
        alarms.erase(handle);
    }
    std::function<void()> take_only_alarm()
    {
        std::lock_guard guard(lock);
        EXPECT_EQ(alarms.size(), 1u);
        auto fn = alarms.begin()->second;
        alarms.clear();
        return fn;
    }
};

} // namespace

// On Xen, once VCPUOP_stop_singleshot_timer returns the timer's event cannot arrive. An alarm that is
// already raising the event when the guest stops the timer must finish before the stop returns, or
// the guest clears what it sees pending and the event lands afterwards (and wakes its next poll).
// Xen 4.19: xen/common/sched/core.c, vcpu_singleshot_timer_fn (stop_timer: no event after the stop
// returns).
TEST(VcpuTimers, AStopWaitsForAnEventAlreadyOnItsWay)
{
    ManualHost host;
    std::promise<void> fire_entered, fire_may_finish;
    std::atomic<bool> fire_done { false };
    VcpuTimers timers(host, 1, [&](uint32_t) {
        fire_entered.set_value();
        fire_may_finish.get_future().wait();
        fire_done = true;
    });
    ASSERT_TRUE(timers.set_singleshot(0, 1000, false));
    host.now = 1000;
    auto alarm = host.take_only_alarm();
    auto firing = std::async(std::launch::async, alarm);
    fire_entered.get_future().wait();

    auto stop = std::async(std::launch::async, [&] { timers.stop_singleshot(0); });
    EXPECT_EQ(stop.wait_for(50ms), std::future_status::timeout) << "stop returned while the event was on its way";
    fire_may_finish.set_value();
    ASSERT_EQ(stop.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(fire_done);
    firing.get();
}

// A stop that comes first wins: the alarm that runs afterwards raises nothing.
// Xen 4.19: xen/common/sched/core.c, vcpu_singleshot_timer_fn.
TEST(VcpuTimers, AnAlarmAfterTheStopRaisesNothing)
{
    ManualHost host;
    int fired = 0;
    VcpuTimers timers(host, 1, [&](uint32_t) { ++fired; });
    ASSERT_TRUE(timers.set_singleshot(0, 1000, false));
    host.now = 1000;
    auto alarm = host.take_only_alarm();
    timers.stop_singleshot(0);
    alarm();
    EXPECT_EQ(fired, 0);
}

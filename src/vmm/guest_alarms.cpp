#include "vmm/guest_alarms.h"

#include "base/log.h"
#include "base/rate_limit.h"

namespace xkvm::vmm {

std::chrono::nanoseconds GuestAlarms::host_delay(uint64_t deadline_ns, uint64_t now_ns)
{
    if (deadline_ns <= now_ns)
        return std::chrono::nanoseconds(0);
    uint64_t gap = deadline_ns - now_ns;
    if (gap >= static_cast<uint64_t>(kMaxHostDelay.count()))
        return kMaxHostDelay;
    return std::chrono::nanoseconds(static_cast<int64_t>(gap));
}

uint64_t GuestAlarms::set(uint64_t deadline_ns, std::function<void()> fn)
{
    auto alarm = std::make_shared<Alarm>(Alarm { 0, deadline_ns, std::move(fn) });
    alarm->id = m_timers.schedule_in(host_delay(deadline_ns, m_now()), [this, alarm] { fire(alarm); });
    if (alarm->id == 0) {
        static RateLimiter limit(RateLimiter::kDefaultBurst, std::chrono::seconds(1));
        if (auto n = limit.admit())
            log::get("vmm")->warn("too many alarms pending; one refused{}", suppressed_note(*n));
    }
    return alarm->id;
}

void GuestAlarms::fire(const std::shared_ptr<Alarm>& alarm)
{
    uint64_t now = m_now();
    if (now < alarm->deadline) {
        m_early_wakes.fetch_add(1, std::memory_order_relaxed);
        m_timers.schedule_again(alarm->id, TimerService::Clock::now() + host_delay(alarm->deadline, now),
                                [this, alarm] { fire(alarm); });
        return;
    }
    alarm->fn();
}

} // namespace xkvm::vmm

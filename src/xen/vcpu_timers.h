// The PV timers of one domain: per vCPU a single-shot timer (VCPUOP_set_singleshot_timer,
// set_timer_op) and a periodic one (VCPUOP_set_periodic_timer). Both raise VIRQ_TIMER on their vCPU,
// never before the deadline in the guest's system time.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "base/result.h"

namespace xkvm::xen {

// The clock and alarm the timers run on (the VMM's timer thread, or a fake in tests).
class TimerHost {
public:
    virtual ~TimerHost() = default;
    virtual uint64_t system_time_ns() const = 0;
    // Run `fn` once, at or after `deadline_ns` of system time; returns a handle for cancel_alarm.
    virtual uint64_t set_alarm(uint64_t deadline_ns, std::function<void()> fn) = 0;
    virtual void cancel_alarm(uint64_t handle) = 0;
};

class VcpuTimers {
public:
    // `fire(vcpu)` delivers VIRQ_TIMER.
    VcpuTimers(TimerHost& host, uint32_t max_vcpus, std::function<void(uint32_t)> fire);
    ~VcpuTimers();

    // A deadline already passed fires at once (or, with `future_only`, fails with ETIME).
    Status set_singleshot(uint32_t vcpu, uint64_t deadline_ns, bool future_only);
    void stop_singleshot(uint32_t vcpu);
    Status set_periodic(uint32_t vcpu, uint64_t period_ns);
    void stop_periodic(uint32_t vcpu);
    void stop_all();

    static constexpr uint64_t kMinPeriodNs = 1'000'000;       // Xen refuses periods under 1 ms
    static constexpr uint64_t kMaxPeriodNs = (1ull << 62) - 1; // and over STIME_DELTA_MAX
    static constexpr uint64_t kHugeTimeoutNs = 100'000'000;    // set_timer_op's far-future fallback

private:
    struct Timer {
        uint64_t handle = 0;
        uint64_t generation = 0; // bumps on every set/stop so a late alarm can tell it is stale
        uint64_t deadline = 0;
        uint64_t period = 0;
        bool armed = false;
        // Periodic: when the last tick was sent (a new period ticks at once if none came within it).
        std::optional<uint64_t> last_tick;
    };
    void arm_locked(uint32_t vcpu, Timer& t, bool periodic);
    void stop(std::vector<Timer>& timers, uint32_t vcpu);
    void on_alarm(uint32_t vcpu, bool periodic, uint64_t generation);

    TimerHost& m_host;
    std::function<void(uint32_t)> m_fire;
    std::mutex m_lock;
    // Held (after m_lock) while an alarm raises its event: a stop waits for one in flight, so once
    // VCPUOP_stop_*_timer returns no event of the stopped timer arrives, as on Xen.
    std::mutex m_firing;
    void wait_for_firing() { std::lock_guard barrier(m_firing); }
    std::vector<Timer> m_single;
    std::vector<Timer> m_periodic;
};

} // namespace xkvm::xen

// Alarms in the guest's time (xen::TimerHost::set_alarm), run on the VMM's TimerService.
//
// Guest deadlines are any 64-bit value (SCHEDOP_poll with timeout ~0, a single-shot timer in the
// far future): they are clamped where they become host delays, so none turns negative or overflows
// the host clock and none fires early, however far it is. The host clock and the guest's TSC-based
// clock need not tick at the same rate, so an alarm that wakes early by the guest's clock waits on,
// at most kMaxHostDelay at a time. Alarms are capped by the TimerService (per domain: one per VMM).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "vmm/timer_service.h"

namespace xkvm::vmm {

class GuestAlarms {
public:
    using GuestClock = std::function<uint64_t()>; // system time in ns

    // The longest single host wait; a deadline further away is looked at again after it.
    static constexpr std::chrono::nanoseconds kMaxHostDelay = std::chrono::hours(1);

    GuestAlarms(TimerService& timers, GuestClock now) : m_timers(timers), m_now(std::move(now)) { }

    // Runs `fn` once, at or after `deadline_ns` in guest time. 0 when the domain has too many
    // alarms already (the cap; the callback never runs).
    uint64_t set(uint64_t deadline_ns, std::function<void()> fn);
    void cancel(uint64_t handle) { m_timers.cancel(handle); }

    // How long the host waits for a deadline `deadline_ns` at guest time `now_ns`: never negative,
    // never past kMaxHostDelay.
    static std::chrono::nanoseconds host_delay(uint64_t deadline_ns, uint64_t now_ns);

    // Times an alarm woke early by the guest's clock and waited on (each at most once per
    // kMaxHostDelay, or per the remaining gap).
    uint64_t early_wakes() const { return m_early_wakes.load(); }

private:
    struct Alarm {
        uint64_t id = 0;
        uint64_t deadline = 0;
        std::function<void()> fn;
    };
    void fire(const std::shared_ptr<Alarm>& alarm);

    TimerService& m_timers;
    GuestClock m_now;
    std::atomic<uint64_t> m_early_wakes { 0 };
};

} // namespace xkvm::vmm

// Test-only DeviceClock: time moves only when a test says so, and alarms run inside advance() in
// deadline order. It can also play the two ways a real timer thread misbehaves: running late (jump()
// then run_due()) and running an alarm that was cancelled a moment too late (set_racy_cancel()).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "devices/device_clock.h"

namespace xkvm::devices::testing {

class FakeDeviceClock final : public DeviceClock {
public:
    // Tests start well away from 0 so that "before the start" arithmetic would show up as a bug.
    explicit FakeDeviceClock(uint64_t start_ns = 1'000'000'000'000) : m_now(start_ns) { }

    uint64_t now_ns() const override { return m_now; }

    uint64_t set_alarm(uint64_t deadline_ns, std::function<void()> fn) override
    {
        uint64_t handle = m_next_handle++;
        m_alarms.emplace(handle, Alarm { deadline_ns, std::move(fn), false });
        return handle;
    }

    void cancel_alarm(uint64_t handle) override
    {
        auto it = m_alarms.find(handle);
        if (it == m_alarms.end())
            return;
        ++m_cancels;
        if (m_racy_cancel)
            it->second.cancelled = true; // the timer thread had already taken it: it still runs
        else
            m_alarms.erase(it);
    }

    // Moves time forward to now + ns, running each due alarm at its own deadline (an on-time timer
    // thread). Alarms set by alarms run too if they fall inside the window.
    void advance(uint64_t ns) { advance_to(m_now + ns); }
    void advance_to(uint64_t target)
    {
        while (auto next = next_due(target)) {
            m_now = std::max(m_now, next->second);
            run(next->first);
        }
        m_now = std::max(m_now, target);
    }

    // Moves time without running anything: the timer thread is stalled.
    void jump(uint64_t ns) { m_now += ns; }
    // Runs everything already due at the current time: the stalled thread catches up, late.
    void run_due()
    {
        while (auto next = next_due(m_now))
            run(next->first);
    }

    void set_racy_cancel(bool racy) { m_racy_cancel = racy; }
    // Alarms still queued (cancelled-but-racy ones included).
    size_t pending() const { return m_alarms.size(); }
    std::optional<uint64_t> next_deadline() const
    {
        std::optional<uint64_t> best;
        for (const auto& [h, a] : m_alarms)
            if (!best || a.deadline < *best)
                best = a.deadline;
        return best;
    }
    uint64_t alarms_run() const { return m_runs; }
    uint64_t cancels() const { return m_cancels; }
    // A device that keeps setting alarms in the past would spin advance() forever; it stops instead.
    bool runaway() const { return m_runaway; }

private:
    struct Alarm {
        uint64_t deadline;
        std::function<void()> fn;
        bool cancelled;
    };
    static constexpr uint64_t kRunawayLimit = 1'000'000;

    // (handle, deadline) of the earliest alarm due by `limit`; ties go to the older handle.
    std::optional<std::pair<uint64_t, uint64_t>> next_due(uint64_t limit)
    {
        if (m_runaway)
            return std::nullopt;
        std::optional<std::pair<uint64_t, uint64_t>> best;
        for (const auto& [h, a] : m_alarms)
            if (a.deadline <= limit && (!best || a.deadline < best->second))
                best = std::make_pair(h, a.deadline);
        return best;
    }

    void run(uint64_t handle)
    {
        auto it = m_alarms.find(handle);
        auto fn = std::move(it->second.fn);
        m_alarms.erase(it);
        if (++m_runs >= kRunawayLimit)
            m_runaway = true;
        fn();
    }

    uint64_t m_now;
    uint64_t m_next_handle = 1;
    std::map<uint64_t, Alarm> m_alarms;
    bool m_racy_cancel = false;
    bool m_runaway = false;
    uint64_t m_runs = 0;
    uint64_t m_cancels = 0;
};

} // namespace xkvm::devices::testing

// Test-only: a clock that moves only when told and the alarms set on it, for fake Platforms (unit
// tests and the hypercall fuzzer). No gtest here, so fuzz targets can use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>

namespace xkvm::xen::testing {

struct FakeAlarms {
    uint64_t now_ns = 1'000'000;
    std::map<uint64_t, std::pair<uint64_t, std::function<void()>>> alarms; // handle -> (deadline, fn)
    uint64_t next_alarm = 1;
    size_t max_alarms = SIZE_MAX; // as the VMM's cap: past it, add_alarm refuses (returns 0)

    uint64_t add_alarm(uint64_t deadline_ns, std::function<void()> fn)
    {
        if (alarms.size() >= max_alarms)
            return 0;
        alarms[next_alarm] = { deadline_ns, std::move(fn) };
        return next_alarm++;
    }
    void remove_alarm(uint64_t handle) { alarms.erase(handle); }

    // Runs the alarms due by now_ns, earliest deadline first (as the timer thread would), including
    // ones that due alarms set.
    void run_due()
    {
        for (;;) {
            auto due = alarms.end();
            for (auto it = alarms.begin(); it != alarms.end(); ++it)
                if (it->second.first <= now_ns && (due == alarms.end() || it->second.first < due->second.first))
                    due = it;
            if (due == alarms.end())
                return;
            auto fn = std::move(due->second.second);
            alarms.erase(due);
            fn();
        }
    }
};

} // namespace xkvm::xen::testing

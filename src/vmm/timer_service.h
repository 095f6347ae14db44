// Deadlines for the VMM: one thread that runs callbacks when their time comes (PV timers, poll
// timeouts, upcall-injection retries). Callbacks must be short.
//
// Timers are indexed by id (cancel is a map lookup, not a scan) and their number is capped: the
// guest drives most of them, and a guest must not grow the VMM without bound.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace xkvm::vmm {

class TimerService {
public:
    using Clock = std::chrono::steady_clock;
    using Callback = std::function<void()>;

    static constexpr size_t kDefaultMaxTimers = 4096;

    explicit TimerService(size_t max_timers = kDefaultMaxTimers);
    ~TimerService();
    TimerService(const TimerService&) = delete;
    TimerService& operator=(const TimerService&) = delete;

    // The timer's id, or 0 when max_timers are already pending (the callback never runs).
    uint64_t schedule(Clock::time_point when, Callback fn);
    // From inside timer `id`'s own callback: run it again at `when` under the same id, so a
    // cancel(id) still reaches it. Nothing happens if the timer was cancelled while it ran.
    void schedule_again(uint64_t id, Clock::time_point when, Callback fn);
    uint64_t schedule_in(std::chrono::nanoseconds delay, Callback fn) { return schedule(Clock::now() + delay, std::move(fn)); }
    // True if the timer was still pending (and now never runs). Also stops a running timer's
    // schedule_again.
    bool cancel(uint64_t id);
    // Stops the thread; pending timers never run. Also done by the destructor.
    void shutdown();

    size_t pending() const;
    // The most timers pending at once so far: what a guest could make this VMM hold, read by
    // `xkvm-vmm --stats` and the status op (the tests of issue 11's alarm bound).
    size_t peak() const;
    std::optional<Clock::time_point> next_deadline() const;

private:
    using Key = std::pair<Clock::time_point, uint64_t>;
    void run();
    bool insert_locked(uint64_t id, Clock::time_point when, Callback fn);

    const size_t m_max_timers;
    mutable std::mutex m_lock;
    std::condition_variable m_cv;
    std::map<Key, Callback> m_timers;
    std::unordered_map<uint64_t, Clock::time_point> m_when; // id -> its key's time
    uint64_t m_next_id = 1;
    size_t m_peak = 0;
    uint64_t m_running = 0; // the id whose callback runs now
    bool m_running_cancelled = false;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace xkvm::vmm

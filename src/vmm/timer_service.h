// Deadlines for the VMM: one thread that runs callbacks when their time comes (PV timers, poll
// timeouts, upcall-injection retries). Callbacks must be short and must not call back into this
// service's cancel() for themselves.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace xkvm::vmm {

class TimerService {
public:
    using Clock = std::chrono::steady_clock;
    using Callback = std::function<void()>;

    TimerService();
    ~TimerService();
    TimerService(const TimerService&) = delete;
    TimerService& operator=(const TimerService&) = delete;

    uint64_t schedule(Clock::time_point when, Callback fn);
    // From inside timer `id`'s own callback: run it again at `when` under the same id, so a
    // cancel(id) still reaches it.
    void schedule_again(uint64_t id, Clock::time_point when, Callback fn);
    uint64_t schedule_in(std::chrono::nanoseconds delay, Callback fn) { return schedule(Clock::now() + delay, std::move(fn)); }
    // True if the timer was still pending (and now never runs).
    bool cancel(uint64_t id);
    // Stops the thread; pending timers never run. Also done by the destructor.
    void shutdown();

private:
    void run();

    std::mutex m_lock;
    std::condition_variable m_cv;
    std::multimap<Clock::time_point, std::pair<uint64_t, Callback>> m_timers;
    uint64_t m_next_id = 1;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace xkvm::vmm

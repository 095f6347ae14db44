// One rate limiter for everything a guest (or another untrusted peer) can make us log: at most
// `burst` events per `window`, the rest dropped and counted, the count reported with the next event
// that gets through. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace xkvm {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;
    using Now = std::function<Clock::time_point()>;

    static constexpr unsigned kDefaultBurst = 10;

    explicit RateLimiter(unsigned burst = kDefaultBurst, Clock::duration window = std::chrono::seconds(1),
                         Now now = &Clock::now)
        : m_burst(burst), m_window(window), m_now(std::move(now))
    {
    }

    // nullopt: drop this event. Otherwise it may go, and the value is how many were dropped since
    // the last one that went.
    std::optional<uint64_t> admit();
    uint64_t dropped_total() const;

    // The most events a default limiter can have let through since `start`: a burst for every
    // one-second window begun since then, and one for the window `start` fell in. Bounds in tests.
    static uint64_t default_bound_since(Clock::time_point start)
    {
        auto whole_seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
        return kDefaultBurst * (static_cast<uint64_t>(whole_seconds) + 2);
    }

private:
    const unsigned m_burst;
    const Clock::duration m_window;
    Now m_now;
    mutable std::mutex m_lock;
    std::optional<Clock::time_point> m_window_start;
    unsigned m_in_window = 0;
    uint64_t m_dropped_since = 0;
    uint64_t m_dropped_total = 0;
};

// "" for 0, else " (N more suppressed)": appended to the message that got through.
std::string suppressed_note(uint64_t dropped);

} // namespace xkvm

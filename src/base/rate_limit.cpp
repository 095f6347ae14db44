#include "base/rate_limit.h"

#include <fmt/format.h>

namespace xkvm {

std::optional<uint64_t> RateLimiter::admit()
{
    std::lock_guard guard(m_lock);
    auto now = m_now();
    if (!m_window_start || now - *m_window_start >= m_window) {
        m_window_start = now;
        m_in_window = 0;
    }
    if (m_in_window >= m_burst) {
        ++m_dropped_since;
        ++m_dropped_total;
        return std::nullopt;
    }
    ++m_in_window;
    uint64_t dropped = m_dropped_since;
    m_dropped_since = 0;
    return dropped;
}

uint64_t RateLimiter::dropped_total() const
{
    std::lock_guard guard(m_lock);
    return m_dropped_total;
}

std::string suppressed_note(uint64_t dropped)
{
    return dropped ? fmt::format(" ({} more suppressed)", dropped) : std::string();
}

} // namespace xkvm

#include "emu/page_limits.h"

#include <mutex>

namespace xkvm::emu {

// Makes `frame` the first frame of a range if a range covers it.
void PageLimits::split_at(uint64_t frame)
{
    auto it = m_ranges.upper_bound(frame);
    if (it == m_ranges.begin())
        return;
    --it;
    if (it->first < frame && frame < it->second.end) {
        m_ranges[frame] = it->second;
        it->second.end = frame;
    }
}

void PageLimits::set(uint64_t first, uint64_t count, uint8_t allowed)
{
    uint64_t end = first + count;
    std::unique_lock guard(m_lock);
    split_at(first);
    split_at(end);
    m_ranges.erase(m_ranges.lower_bound(first), m_ranges.lower_bound(end));
    if ((allowed & kAll) != kAll) {
        auto it = m_ranges.emplace(first, Range{ end, uint8_t(allowed & kAll) }).first;
        auto next = std::next(it);
        if (next != m_ranges.end() && next->first == end && next->second.allowed == it->second.allowed) {
            it->second.end = next->second.end;
            m_ranges.erase(next);
        }
        if (it != m_ranges.begin()) {
            auto prev = std::prev(it);
            if (prev->second.end == first && prev->second.allowed == it->second.allowed) {
                prev->second.end = it->second.end;
                m_ranges.erase(it);
            }
        }
    }
    m_empty.store(m_ranges.empty(), std::memory_order_release);
}

uint8_t PageLimits::get(uint64_t frame) const
{
    if (m_empty.load(std::memory_order_acquire))
        return kAll;
    std::shared_lock guard(m_lock);
    auto it = m_ranges.upper_bound(frame);
    if (it == m_ranges.begin())
        return kAll;
    --it;
    return frame < it->second.end ? it->second.allowed : kAll;
}

size_t PageLimits::ranges() const
{
    std::shared_lock guard(m_lock);
    return m_ranges.size();
}

} // namespace xkvm::emu

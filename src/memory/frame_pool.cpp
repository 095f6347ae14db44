#include "memory/frame_pool.h"

namespace xkvm::memory {

bool FramePool::release(uint64_t offset, uint64_t size)
{
    if (size == 0)
        return true;
    auto next = m_runs.lower_bound(offset);
    if (next != m_runs.end() && next->first < offset + size)
        return false;
    if (next != m_runs.begin() && std::prev(next)->first + std::prev(next)->second > offset)
        return false;
    m_free_bytes += size;
    if (next != m_runs.end() && next->first == offset + size) { // join the run after
        size += next->second;
        next = m_runs.erase(next);
    }
    if (next != m_runs.begin()) { // and the run before
        auto prev = std::prev(next);
        if (prev->first + prev->second == offset) {
            prev->second += size;
            return true;
        }
    }
    m_runs[offset] = size;
    return true;
}

void FramePool::remove(uint64_t offset, uint64_t size)
{
    auto it = std::prev(m_runs.upper_bound(offset));
    uint64_t start = it->first, len = it->second;
    m_runs.erase(it);
    if (offset > start)
        m_runs[start] = offset - start;
    if (offset + size < start + len)
        m_runs[offset + size] = start + len - offset - size;
    m_free_bytes -= size;
}

std::optional<std::vector<BackingRun>> FramePool::take(uint64_t size, uint64_t align)
{
    if (size == 0 || size > m_free_bytes)
        return size == 0 ? std::optional(std::vector<BackingRun> {}) : std::nullopt;
    align = align ? align : 1;
    for (const auto& [off, len] : m_runs) {
        uint64_t start = (off + align - 1) / align * align;
        if (start < off + len && off + len - start >= size) {
            remove(start, size);
            return std::vector<BackingRun> { { start, size } };
        }
    }
    for (const auto& [off, len] : m_runs)
        if (len >= size) {
            uint64_t start = off;
            remove(start, size);
            return std::vector<BackingRun> { { start, size } };
        }
    std::vector<BackingRun> runs;
    for (uint64_t left = size; left;) {
        auto [off, len] = *m_runs.begin();
        uint64_t n = std::min(len, left);
        remove(off, n);
        runs.push_back({ off, n });
        left -= n;
    }
    return runs;
}

} // namespace xkvm::memory

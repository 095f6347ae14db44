// Indices in memory another party writes too (a guest's ring, a monitor's ring): read with acquire
// so the entries they publish are seen, written with release so ours are.
#pragma once

#include <atomic>
#include <cstdint>

namespace xkvm {

inline uint32_t load_acquire(uint32_t& shared)
{
    return std::atomic_ref<uint32_t>(shared).load(std::memory_order_acquire);
}

inline void store_release(uint32_t& shared, uint32_t value)
{
    std::atomic_ref<uint32_t>(shared).store(value, std::memory_order_release);
}

} // namespace xkvm

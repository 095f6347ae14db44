// The access limits a monitor put on guest frames (vm_event), kept as ranges so that limiting all
// of a large guest takes a few entries. Written by any thread, read by the vCPUs at TLB fills.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <shared_mutex>

namespace xkvm::emu {

class PageLimits {
public:
    static constexpr uint8_t kAll = 7; // read | write | exec: no limit

    // Frames [first, first + count) allow `allowed` (kAll lifts their limits). count > 0, and
    // first + count must not wrap.
    void set(uint64_t first, uint64_t count, uint8_t allowed);
    uint8_t get(uint64_t frame) const;
    // Ranges held (adjacent frames with the same limits are one range).
    size_t ranges() const;

private:
    struct Range {
        uint64_t end;
        uint8_t allowed;
    };
    void split_at(uint64_t frame);

    mutable std::shared_mutex m_lock;
    std::map<uint64_t, Range> m_ranges; // first frame -> range
    std::atomic<bool> m_empty{ true };  // the common case asks nothing of the lock
};

} // namespace xkvm::emu

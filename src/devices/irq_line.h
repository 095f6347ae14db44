// A device's interrupt output, delivered to its consumer with the device's lock released yet in the
// order the device decided. Without the ordering, a vCPU clearing the line and the timer thread
// raising it could reach the consumer swapped and leave the pin stuck, losing every later edge.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

namespace xkvm::devices {

class IrqLine {
public:
    // One decided level change; seq 0 means "nothing to deliver".
    struct Change {
        uint64_t seq = 0;
        bool level = false;
    };

    explicit IrqLine(std::function<void(bool)> fn) : m_fn(std::move(fn)) { }

    // With the device's lock held: the line should now be at `level`.
    Change set(bool level)
    {
        if (level == m_level)
            return {};
        m_level = level;
        return { ++m_seq, level };
    }
    bool level() const { return m_level; }

    // Without the device's lock. A change overtaken by a later one is dropped, so the consumer always
    // ends at the device's latest level.
    void deliver(Change c)
    {
        if (c.seq == 0)
            return;
        std::lock_guard guard(m_deliver_lock);
        if (c.seq <= m_delivered)
            return;
        m_delivered = c.seq;
        if (m_fn)
            m_fn(c.level);
    }

    // Without the device's lock: one rising and one falling edge, not split by another delivery.
    void pulse()
    {
        std::lock_guard guard(m_deliver_lock);
        if (m_fn) {
            m_fn(true);
            m_fn(false);
        }
    }

private:
    std::function<void(bool)> m_fn;
    bool m_level = false; // guarded by the owning device's lock
    uint64_t m_seq = 0;   // guarded by the owning device's lock
    // Held while calling m_fn, so the consumer must not do I/O on the same device from inside it.
    std::mutex m_deliver_lock;
    uint64_t m_delivered = 0;
};

} // namespace xkvm::devices

// The LAPIC timer's arithmetic, with no clock of its own: every operation is told the time.
// Its input clock runs at 1 GHz, so at divide-by-1 one count is one nanosecond (as KVM's, which the
// test guests rely on).
#pragma once

#include <cstdint>
#include <optional>

namespace xkvm::irqchip {

class LapicTimer {
public:
    enum class Mode : uint8_t { OneShot, Periodic, TscDeadline };

    // Periodic timers never fire more often than this, so a guest cannot make its vCPU spin on
    // expiries (current-count reads stay within the programmed initial count).
    static constexpr uint64_t kMinPeriodNs = 100'000;

    void reset();

    // Changing to or from TSC-deadline mode disarms the timer; one-shot <-> periodic keeps counting.
    void set_mode(Mode mode);
    Mode mode() const { return m_mode; }

    void write_initial(uint32_t count, uint64_t now);
    void write_divide(uint32_t value, uint64_t now);
    // Ignored outside TSC-deadline mode; 0 disarms.
    void write_tsc_deadline(uint64_t tsc, uint64_t deadline_ns);

    uint32_t initial() const { return m_initial; }
    uint32_t divide() const { return m_divide; }
    uint64_t tsc_deadline() const { return m_mode == Mode::TscDeadline ? m_tsc_deadline : 0; }
    uint32_t current(uint64_t now) const;

    std::optional<uint64_t> deadline() const;
    // True once per call when the timer expired at or before `now`; periods missed collapse into one.
    bool expire(uint64_t now);

private:
    uint64_t divisor() const;
    uint64_t period_ns() const;
    void arm(uint64_t now, uint64_t ns);

    Mode m_mode = Mode::OneShot;
    uint32_t m_initial = 0;
    uint32_t m_divide = 0;
    uint64_t m_tsc_deadline = 0;
    bool m_armed = false;
    uint64_t m_deadline = 0;
};

} // namespace xkvm::irqchip

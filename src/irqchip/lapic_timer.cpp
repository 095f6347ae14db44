#include "irqchip/lapic_timer.h"

#include <algorithm>
#include <limits>

namespace xkvm::irqchip {

namespace {
constexpr uint32_t kDivideMask = 0xb; // bits 0, 1 and 3

uint64_t saturating_add(uint64_t a, uint64_t b)
{
    return b > std::numeric_limits<uint64_t>::max() - a ? std::numeric_limits<uint64_t>::max() : a + b;
}
} // namespace

void LapicTimer::reset() { *this = LapicTimer {}; }

uint64_t LapicTimer::divisor() const
{
    // Bits 3,1,0 form a 3-bit code: 0..6 divide by 2^(code+1), 7 divides by 1.
    uint32_t code = ((m_divide >> 1) & 4) | (m_divide & 3);
    return uint64_t { 1 } << ((code + 1) & 7);
}

uint64_t LapicTimer::period_ns() const
{
    uint64_t ns = uint64_t { m_initial } * divisor();
    return m_mode == Mode::Periodic ? std::max(ns, kMinPeriodNs) : ns;
}

void LapicTimer::arm(uint64_t now, uint64_t ns)
{
    m_armed = true;
    m_deadline = saturating_add(now, ns);
}

void LapicTimer::set_mode(Mode mode)
{
    if (mode == m_mode)
        return;
    if (mode == Mode::TscDeadline || m_mode == Mode::TscDeadline) {
        m_armed = false;
        m_initial = 0;
        m_tsc_deadline = 0;
    }
    m_mode = mode;
}

void LapicTimer::write_initial(uint32_t count, uint64_t now)
{
    if (m_mode == Mode::TscDeadline)
        return;
    m_initial = count;
    m_armed = false;
    if (count != 0)
        arm(now, period_ns());
}

void LapicTimer::write_divide(uint32_t value, uint64_t now)
{
    if (m_mode == Mode::TscDeadline || !m_armed) {
        m_divide = value & kDivideMask;
        return;
    }
    // The counts left keep going down at the new rate.
    uint64_t left = current(now);
    m_divide = value & kDivideMask;
    arm(now, left * divisor());
}

void LapicTimer::write_tsc_deadline(uint64_t tsc, uint64_t deadline_ns)
{
    if (m_mode != Mode::TscDeadline)
        return;
    m_tsc_deadline = tsc;
    m_armed = tsc != 0;
    m_deadline = deadline_ns;
}

uint32_t LapicTimer::current(uint64_t now) const
{
    if (!m_armed || m_mode == Mode::TscDeadline)
        return 0;
    uint64_t left = 0;
    if (now < m_deadline)
        left = m_deadline - now;
    else if (m_mode == Mode::Periodic)
        left = period_ns() - (now - m_deadline) % period_ns();
    return static_cast<uint32_t>(std::min<uint64_t>(left / divisor(), m_initial));
}

std::optional<uint64_t> LapicTimer::deadline() const
{
    if (!m_armed)
        return std::nullopt;
    return m_deadline;
}

bool LapicTimer::expire(uint64_t now)
{
    if (!m_armed || now < m_deadline)
        return false;
    if (m_mode == Mode::Periodic) {
        uint64_t period = period_ns();
        uint64_t missed = (now - m_deadline) / period + 1;
        m_deadline = saturating_add(m_deadline, missed * period);
        return true;
    }
    m_armed = false;
    m_tsc_deadline = 0;
    return true;
}

} // namespace xkvm::irqchip

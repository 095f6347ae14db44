#include "devices/i8254_pit.h"

#include <algorithm>

namespace xkvm::devices {

namespace {

constexpr uint64_t kControlWord = 3;
constexpr uint8_t kPort61Writable = 0x0f; // gate 2, speaker data, and two check-enable bits kept as is
constexpr uint8_t kPort61Gate2 = 0x01;
constexpr uint8_t kPort61Refresh = 0x10;
constexpr uint8_t kPort61Out2 = 0x20;

// Control word fields (port 0x43).
constexpr uint8_t select_field(uint8_t v) { return v >> 6; }
constexpr uint8_t access_field(uint8_t v) { return (v >> 4) & 3; }
constexpr uint8_t mode_field(uint8_t v) { return (v >> 1) & 7; }
constexpr uint8_t kSelectReadBack = 3;
// Read-back command: the latch bits are active low.
constexpr uint8_t kReadBackNoCount = 0x20;
constexpr uint8_t kReadBackNoStatus = 0x10;

} // namespace

I8254Pit::I8254Pit(DeviceClock& clock, std::function<void(bool)> irq0) : m_clock(clock), m_irq0(std::move(irq0))
{
    // Port 0x61 starts at 0, so counter 2's gate starts low with it.
    m_channels[2].set_gate(false, now_locked());
}

I8254Pit::~I8254Pit()
{
    std::lock_guard guard(m_lock);
    cancel_alarm_locked();
}

uint64_t I8254Pit::now_locked()
{
    m_last_now = std::max(m_last_now, m_clock.now_ns());
    return m_last_now;
}

void I8254Pit::io_read(uint64_t offset, std::span<uint8_t> data)
{
    bool edge = false;
    {
        std::lock_guard guard(m_lock);
        uint64_t now = now_locked();
        for (size_t i = 0; i < data.size(); ++i)
            data[i] = offset < kPitPorts && i < kPitPorts - offset ? read_port(offset + i, now) : 0xff;
        edge = sync_irq0(now);
    }
    if (edge)
        m_irq0.pulse();
}

void I8254Pit::io_write(uint64_t offset, std::span<const uint8_t> data)
{
    bool edge = false;
    {
        std::lock_guard guard(m_lock);
        uint64_t now = now_locked();
        for (size_t i = 0; i < data.size() && offset < kPitPorts && i < kPitPorts - offset; ++i)
            write_port(offset + i, data[i], now);
        edge = sync_irq0(now);
    }
    if (edge)
        m_irq0.pulse();
}

uint8_t I8254Pit::read_port(uint64_t port, uint64_t now)
{
    if (port == kControlWord)
        return 0xff; // write-only: nothing drives the bus
    return m_channels[port].read(now);
}

void I8254Pit::write_port(uint64_t port, uint8_t value, uint64_t now)
{
    if (port == kControlWord)
        control_word(value, now);
    else
        m_channels[port].write(value, now);
}

void I8254Pit::control_word(uint8_t value, uint64_t now)
{
    uint8_t select = select_field(value);
    if (select == kSelectReadBack) {
        // Bits 1-3 pick counters 0-2; bit 0 is reserved and ignored.
        for (size_t c = 0; c < m_channels.size(); ++c) {
            if (!(value & (2u << c)))
                continue;
            if (!(value & kReadBackNoCount))
                m_channels[c].latch_count(now);
            if (!(value & kReadBackNoStatus))
                m_channels[c].latch_status(now);
        }
        return;
    }
    uint8_t access = access_field(value);
    if (access == 0)
        m_channels[select].latch_count(now);
    else
        m_channels[select].program(access, mode_field(value), value & 1, now);
}

uint8_t I8254Pit::read_port61(uint64_t now)
{
    uint8_t v = (m_port61 & kPort61Writable) | (m_refresh ? kPort61Refresh : 0)
                | (m_channels[2].out(now) ? kPort61Out2 : 0);
    // Firmware-era delay loops wait for the refresh bit to change; flipping per read ends them at
    // once, which is what they are for on a machine with no refresh cycle to wait for.
    m_refresh = !m_refresh;
    return v;
}

void I8254Pit::write_port61(uint8_t value, uint64_t now)
{
    m_port61 = value & kPort61Writable;
    m_channels[2].set_gate(value & kPort61Gate2, now);
}

// With m_lock held, after anything that may have touched counter 0: whether its OUT rose since the
// last look (the caller pulses IRQ 0 once, however many edges that was), and the alarm re-armed for
// its next rising edge.
bool I8254Pit::sync_irq0(uint64_t now)
{
    PitChannel& ch = m_channels[0];
    bool edge = ch.take_rising_edge(now);
    auto next = ch.next_rising_edge(now);
    if (!next) {
        cancel_alarm_locked();
        return edge;
    }
    uint64_t deadline = std::max(*next, m_last_alarm_ns + kMinAlarmGapNs);
    if (m_alarm != DeviceClock::kNoAlarm && deadline == m_alarm_deadline)
        return edge;
    cancel_alarm_locked();
    uint64_t generation = m_generation;
    m_alarm_deadline = deadline;
    m_alarm = m_clock.set_alarm(deadline, [this, generation] { on_alarm(generation); });
    return edge;
}

void I8254Pit::cancel_alarm_locked()
{
    // A cancel may come too late for an alarm already running: the new generation disarms it.
    ++m_generation;
    if (m_alarm != DeviceClock::kNoAlarm)
        m_clock.cancel_alarm(m_alarm);
    m_alarm = DeviceClock::kNoAlarm;
}

void I8254Pit::on_alarm(uint64_t generation)
{
    bool edge = false;
    {
        std::lock_guard guard(m_lock);
        if (generation != m_generation)
            return;
        m_alarm = DeviceClock::kNoAlarm;
        uint64_t now = now_locked();
        m_last_alarm_ns = now;
        edge = sync_irq0(now);
    }
    if (edge)
        m_irq0.pulse();
}

void I8254Pit::ControlPort::io_read(uint64_t offset, std::span<uint8_t> data)
{
    std::lock_guard guard(m_pit.m_lock);
    uint64_t now = m_pit.now_locked();
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = offset == 0 && i == 0 ? m_pit.read_port61(now) : 0xff;
}

void I8254Pit::ControlPort::io_write(uint64_t offset, std::span<const uint8_t> data)
{
    std::lock_guard guard(m_pit.m_lock);
    if (offset == 0 && !data.empty())
        m_pit.write_port61(data[0], m_pit.now_locked());
}

} // namespace xkvm::devices

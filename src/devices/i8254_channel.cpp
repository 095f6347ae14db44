#include "devices/i8254_channel.h"

namespace xkvm::devices {

namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;
constexpr uint64_t kHz = PitChannel::kInputHz;

} // namespace

// Split at whole seconds so the products stay far below 2^64 however long the guest runs.
uint64_t PitChannel::ticks_in(uint64_t ns)
{
    return ns / kNsPerSec * kHz + ns % kNsPerSec * kHz / kNsPerSec;
}

uint64_t PitChannel::ns_for_ticks(uint64_t ticks)
{
    return ticks / kHz * kNsPerSec + (ticks % kHz * kNsPerSec + kHz - 1) / kHz;
}

uint32_t PitChannel::decode(uint16_t raw) const
{
    if (!m_bcd)
        return raw ? raw : 0x10000;
    // Nibbles above 9 are out of spec; they still give a count in range rather than a surprise.
    uint32_t v = ((raw >> 12) & 0xf) * 1000 + ((raw >> 8) & 0xf) * 100 + ((raw >> 4) & 0xf) * 10 + (raw & 0xf);
    v %= 10000;
    return v ? v : 10000;
}

uint16_t PitChannel::encode(uint32_t count) const
{
    if (!m_bcd)
        return static_cast<uint16_t>(count); // a full 65536 reads as 0, as on the chip
    count %= 10000;
    return static_cast<uint16_t>((count / 1000) << 12 | (count / 100 % 10) << 8 | (count / 10 % 10) << 4 | count % 10);
}

uint64_t PitChannel::elapsed(uint64_t now) const
{
    if (m_state == State::Paused)
        return m_base_ticks;
    return m_base_ticks + ticks_in(now > m_start_ns ? now - m_start_ns : 0);
}

uint32_t PitChannel::count_at(uint64_t now)
{
    if (m_state != State::Counting)
        return m_held_count;
    uint64_t e = elapsed(now);
    uint32_t n = m_n;
    switch (m_mode) {
    case 2:
        return static_cast<uint32_t>(n - e % n);
    case 3: {
        // Counts down by two through each half period from N rounded down to even, as Intel's
        // datasheet describes it; for odd N the high half is one clock longer and ends at 0.
        auto phase = static_cast<uint32_t>(e % n);
        auto high = static_cast<uint32_t>(high_half(n));
        uint32_t p = phase < high ? phase : phase - high;
        return (n & ~1u) - 2 * p;
    }
    default: {
        // The one-shot modes keep counting through terminal count and wrap.
        uint32_t m = modulus();
        return static_cast<uint32_t>((n + m - e % m) % m);
    }
    }
}

bool PitChannel::out_at(uint64_t now) const
{
    switch (m_state) {
    case State::Idle:
        return m_mode != 0; // a mode 0 control word drives OUT low, every other mode high
    case State::WaitGate:
        return true;
    case State::Paused:
        return m_held_out;
    case State::Counting:
        break;
    }
    uint64_t e = elapsed(now);
    uint64_t n = m_n;
    switch (m_mode) {
    case 0:
    case 1:
        return e >= n;
    case 2:
        return e % n != n - 1;
    case 3:
        return e % n < high_half(n);
    default:
        return e != n; // modes 4 and 5: low for the one clock at terminal count
    }
}

std::optional<uint64_t> PitChannel::latest_edge_tick(uint64_t e) const
{
    uint64_t n = m_n;
    switch (m_mode) {
    case 0:
    case 1:
        return e >= n ? std::optional(n) : std::nullopt;
    case 2:
    case 3:
        return e >= n ? std::optional(e / n * n) : std::nullopt;
    default:
        return e >= n + 1 ? std::optional(n + 1) : std::nullopt;
    }
}

std::optional<uint64_t> PitChannel::next_edge_tick(uint64_t e) const
{
    uint64_t n = m_n;
    switch (m_mode) {
    case 0:
    case 1:
        return e < n ? std::optional(n) : std::nullopt;
    case 2:
    case 3:
        return (e / n + 1) * n;
    default:
        return e < n + 1 ? std::optional(n + 1) : std::nullopt;
    }
}

uint64_t PitChannel::time_of_tick(uint64_t tick) const
{
    return m_start_ns + ns_for_ticks(tick > m_base_ticks ? tick - m_base_ticks : 0);
}

// Brings the bookkeeping up to `now` before anything reads or changes the counter, so that edges are
// never lost to a reprogramming and a pending periodic count takes over exactly at its boundary.
void PitChannel::observe(uint64_t now)
{
    if (m_state != State::Counting)
        return;
    if (m_reload_pending && now >= m_pending_at_ns) {
        // At a period boundary OUT rose as the new count took over; in mid-period (mode 3) it fell.
        if (m_pending_base == 0 && m_pending_at_ns > m_last_edge_ns) {
            m_edge_owed = true;
            m_last_edge_ns = m_pending_at_ns;
        }
        m_start_ns = m_pending_at_ns;
        m_reload_pending = false;
        m_n = m_reload;
        m_base_ticks = m_pending_base;
        m_null_count = false;
    }
    // Edges at or before the base tick happened before a pause and were accounted for then.
    if (auto tick = latest_edge_tick(elapsed(now)); tick && *tick > m_base_ticks) {
        uint64_t t = time_of_tick(*tick);
        if (t > m_last_edge_ns) {
            m_edge_owed = true;
            m_last_edge_ns = t;
        }
    }
}

void PitChannel::start_cycle(uint64_t now)
{
    m_n = m_reload;
    m_state = State::Counting;
    m_start_ns = now;
    m_base_ticks = 0;
    m_last_edge_ns = now;
    m_null_count = false;
    m_reload_pending = false;
}

void PitChannel::program(uint8_t access, uint8_t mode_bits, bool bcd, uint64_t now)
{
    observe(now);
    if (m_state == State::Counting)
        m_held_count = count_at(now);
    m_access = (access >= 1 && access <= 3) ? access : 3;
    m_mode_bits = mode_bits & 7;
    m_mode = m_mode_bits > 5 ? m_mode_bits - 4 : m_mode_bits;
    m_bcd = bcd;
    m_state = State::Idle;
    m_reload_pending = false;
    m_null_count = true;
    m_write_msb_next = false;
    m_read_msb_next = false;
    m_count_latched = false;
    m_status_latched = false;
}

void PitChannel::load(uint16_t raw, uint64_t now)
{
    m_reload = decode(raw);
    m_null_count = true;
    switch (m_mode) {
    case 0:
    case 4:
        start_cycle(now);
        if (!m_gate) { // loaded into the counter, but the low gate holds it at the full count
            m_state = State::Paused;
            m_held_count = m_n;
            m_held_out = m_mode == 4;
        }
        return;
    case 1:
    case 5:
        // Counting starts at the next gate rising edge; a count written mid-cycle waits for it too.
        if (m_state == State::Idle) {
            m_state = State::WaitGate;
            m_held_count = m_reload;
        }
        return;
    default:
        if (m_state == State::Counting) {
            schedule_reload(now);
        } else if (m_gate) {
            start_cycle(now);
        } else if (m_state == State::Idle) {
            // The first count after a control word is loaded even with the gate low; counting
            // waits for the gate. A later one waits in the count register for the gate's trigger.
            m_state = State::WaitGate;
            m_held_count = m_reload;
            m_null_count = false;
        }
        return;
    }
}

// The running cycle finishes its period (mode 2) or its half-cycle (mode 3) with the old count, as
// the datasheet says; the new count takes over at that boundary.
void PitChannel::schedule_reload(uint64_t now)
{
    uint64_t e = elapsed(now);
    uint64_t n = m_n;
    uint64_t period_start = e - e % n;
    uint64_t end = period_start + n;
    m_pending_base = 0;
    if (m_mode == 3 && e % n < high_half(n)) {
        end = period_start + high_half(n);
        // OUT falls there, so the new count starts in its low half (a count of 1 has none).
        m_pending_base = high_half(m_reload) < m_reload ? high_half(m_reload) : 0;
    }
    m_reload_pending = true;
    m_pending_at_ns = time_of_tick(end);
}

void PitChannel::write(uint8_t value, uint64_t now)
{
    observe(now);
    switch (m_access) {
    case 1:
        load(value, now);
        return;
    case 2:
        load(static_cast<uint16_t>(value << 8), now);
        return;
    default:
        break;
    }
    if (!m_write_msb_next) {
        m_write_lsb = value;
        m_write_msb_next = true;
        // Mode 0: the first byte of a new count stops the counter and drops OUT at once.
        if (m_mode == 0 && (m_state == State::Counting || m_state == State::Paused)) {
            m_held_count = count_at(now);
            m_state = State::Idle;
        }
        return;
    }
    m_write_msb_next = false;
    load(static_cast<uint16_t>(m_write_lsb | value << 8), now);
}

uint8_t PitChannel::read(uint64_t now)
{
    observe(now);
    if (m_status_latched) {
        m_status_latched = false;
        return m_latched_status;
    }
    bool latched = m_count_latched;
    uint16_t v = latched ? m_latched_count : encode(count_at(now));
    bool last_byte = true;
    uint8_t byte = 0;
    switch (m_access) {
    case 1:
        byte = static_cast<uint8_t>(v);
        break;
    case 2:
        byte = static_cast<uint8_t>(v >> 8);
        break;
    default:
        byte = static_cast<uint8_t>(m_read_msb_next ? v >> 8 : v);
        last_byte = m_read_msb_next;
        m_read_msb_next = !m_read_msb_next;
        break;
    }
    if (latched && last_byte)
        m_count_latched = false;
    return byte;
}

void PitChannel::latch_count(uint64_t now)
{
    observe(now);
    if (m_count_latched)
        return;
    m_latched_count = encode(count_at(now));
    m_count_latched = true;
}

void PitChannel::latch_status(uint64_t now)
{
    observe(now);
    if (m_status_latched)
        return;
    m_latched_status = static_cast<uint8_t>((out_at(now) ? 0x80 : 0) | (m_null_count ? 0x40 : 0) | m_access << 4
                                            | m_mode_bits << 1 | (m_bcd ? 1 : 0));
    m_status_latched = true;
}

void PitChannel::set_gate(bool high, uint64_t now)
{
    observe(now);
    if (high == m_gate)
        return;
    m_gate = high;
    if (high) {
        switch (m_mode) {
        case 1:
        case 5:
            if (m_state != State::Idle)
                start_cycle(now); // trigger, or retrigger from the count register
            return;
        case 2:
        case 3:
            if (m_state == State::WaitGate)
                start_cycle(now); // a gate rising edge reloads and restarts the period
            return;
        default:
            if (m_state == State::Paused) {
                m_state = State::Counting;
                m_start_ns = now;
            }
            return;
        }
    }
    switch (m_mode) {
    case 0:
    case 4:
        if (m_state == State::Counting) {
            m_held_count = count_at(now);
            m_held_out = out_at(now);
            m_base_ticks = elapsed(now);
            m_state = State::Paused;
        }
        return;
    case 2:
    case 3:
        if (m_state == State::Counting) { // counting stops with OUT high until the gate rises again
            m_held_count = count_at(now);
            m_state = State::WaitGate;
            m_reload_pending = false;
        }
        return;
    default:
        return; // modes 1 and 5 only react to rising edges
    }
}

bool PitChannel::out(uint64_t now)
{
    observe(now);
    return out_at(now);
}

bool PitChannel::take_rising_edge(uint64_t now)
{
    observe(now);
    bool edge = m_edge_owed;
    m_edge_owed = false;
    return edge;
}

std::optional<uint64_t> PitChannel::next_rising_edge(uint64_t now)
{
    observe(now);
    if (m_state != State::Counting)
        return std::nullopt;
    if (m_reload_pending) // the new count's first rising edge, unless OUT rises at the takeover
        return m_pending_at_ns + ns_for_ticks(m_pending_base ? m_reload - m_pending_base : 0);
    auto tick = next_edge_tick(elapsed(now));
    if (!tick)
        return std::nullopt;
    return time_of_tick(*tick);
}

} // namespace xkvm::devices

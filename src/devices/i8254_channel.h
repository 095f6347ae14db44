// One counter of an Intel 8254. Nothing ticks: the count and the OUT pin are computed from the time
// elapsed since the count was loaded, so reading is exact at any moment and an idle guest costs
// nothing. Not thread-safe; I8254Pit serialises access. All times are DeviceClock nanoseconds.
#pragma once

#include <cstdint>
#include <optional>

namespace xkvm::devices {

class PitChannel {
public:
    static constexpr uint64_t kInputHz = 1'193'182;

    // Whole input clocks in `ns`, and the first instant at which `ticks` clocks have elapsed. The pair
    // round-trips exactly, which keeps periodic edges drift-free over any run length.
    static uint64_t ticks_in(uint64_t ns);
    static uint64_t ns_for_ticks(uint64_t ticks);

    // A control word addressed to this counter: access 1 = LSB, 2 = MSB, 3 = LSB then MSB;
    // mode_bits as written (6 and 7 alias modes 2 and 3).
    void program(uint8_t access, uint8_t mode_bits, bool bcd, uint64_t now);
    void write(uint8_t value, uint64_t now);
    uint8_t read(uint64_t now);
    // Counter latch command and the two halves of a read-back command. A second latch before the
    // first is read is ignored, as on the chip.
    void latch_count(uint64_t now);
    void latch_status(uint64_t now);

    // The GATE input. Channels 0 and 1 of a PC have it tied high; channel 2's is port 0x61 bit 0.
    void set_gate(bool high, uint64_t now);
    bool gate() const { return m_gate; }
    bool out(uint64_t now);
    uint8_t mode() const { return m_mode; }

    // For a counter whose OUT drives an interrupt: whether OUT rose since the last call (any number of
    // rises collapse into one), and when it next rises if nothing is reprogrammed.
    bool take_rising_edge(uint64_t now);
    std::optional<uint64_t> next_rising_edge(uint64_t now);

private:
    enum class State : uint8_t {
        Idle,     // control word written, no count yet (or mode 0 between the two count bytes)
        WaitGate, // count loaded, waiting for a gate rising edge (modes 1, 5; modes 2, 3 with gate low)
        Counting,
        Paused, // modes 0 and 4 with the gate low: counting suspended, OUT held
    };

    uint32_t modulus() const { return m_bcd ? 10000 : 0x10000; }
    static uint64_t high_half(uint64_t n) { return (n + 1) / 2; }
    uint32_t decode(uint16_t raw) const;
    uint16_t encode(uint32_t count) const;
    void load(uint16_t raw, uint64_t now);
    void schedule_reload(uint64_t now);
    void start_cycle(uint64_t now);
    void hold(uint64_t now);
    uint64_t elapsed(uint64_t now) const;
    uint32_t count_at(uint64_t now);
    bool out_at(uint64_t now) const;
    std::optional<uint64_t> latest_edge_tick(uint64_t e) const;
    std::optional<uint64_t> next_edge_tick(uint64_t e) const;
    uint64_t time_of_tick(uint64_t tick) const;
    void observe(uint64_t now);

    uint8_t m_access = 3;
    uint8_t m_mode = 0;
    uint8_t m_mode_bits = 0;
    bool m_bcd = false;
    bool m_gate = true;
    State m_state = State::Idle;

    uint32_t m_reload = 0x10000; // the count register, decoded: 1..65536 (1..10000 in BCD)
    uint32_t m_n = 0x10000;      // the count the running cycle was loaded with
    uint64_t m_start_ns = 0;     // when the running cycle was at tick m_base_ticks
    uint64_t m_base_ticks = 0;   // ticks already counted at m_start_ns: modes 0, 4 resumed after a
                                 // pause; mode 3 after a reload as OUT fell
    uint32_t m_held_count = 0;   // the count shown while not Counting
    bool m_held_out = false;     // OUT while Paused
    bool m_null_count = true;    // a count was written but is not yet in the counting element

    // Modes 2 and 3: a count written while counting takes over at the end of the current period
    // (mode 2) or half-cycle (mode 3). A mode 3 count taking over as OUT falls starts in its low half.
    bool m_reload_pending = false;
    uint64_t m_pending_at_ns = 0;
    uint64_t m_pending_base = 0; // the new cycle's tick at takeover: 0, or its high half

    bool m_write_msb_next = false;
    uint8_t m_write_lsb = 0;
    bool m_read_msb_next = false;
    bool m_count_latched = false;
    uint16_t m_latched_count = 0;
    bool m_status_latched = false;
    uint8_t m_latched_status = 0;

    uint64_t m_last_edge_ns = 0; // the latest rising edge already accounted for
    bool m_edge_owed = false;    // a rising edge happened that take_rising_edge has not reported
};

} // namespace xkvm::devices

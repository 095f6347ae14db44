// The PC's Intel 8254 PIT: three PitChannels behind ports 0x40-0x43 (counters and the control word,
// read-back included) and system control port B (0x61: counter 2's gate, the speaker bit, the
// refresh toggle, counter 2's OUT). Counter 0's OUT is the ISA IRQ 0 pin, pulsed once per rising
// edge from an alarm at the channel's next edge; counters 1 and 2 drive nothing and cost nothing.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>

#include "devices/device_clock.h"
#include "devices/i8254_channel.h"
#include "devices/io_bus.h"
#include "devices/irq_line.h"

namespace xkvm::devices {

inline constexpr uint16_t kPitBase = 0x40;
inline constexpr uint16_t kPitPorts = 4;
inline constexpr uint16_t kSystemControlPort = 0x61;
inline constexpr uint32_t kPitIrq = 0;

class I8254Pit final : public IoDevice {
public:
    // `irq0(level)` is counter 0's pin: true then false per OUT rising edge, with the PIT's lock
    // released, from a vCPU thread or the clock's alarm thread. `clock` must outlive the PIT and stop
    // running its alarms before the PIT is destroyed (cancel_alarm is only best effort).
    I8254Pit(DeviceClock& clock, std::function<void(bool)> irq0);
    ~I8254Pit() override;
    I8254Pit(const I8254Pit&) = delete;
    I8254Pit& operator=(const I8254Pit&) = delete;

    // Ports 0x40-0x43. A wider access is split into byte accesses to consecutive ports, as the ISA
    // bus does; bytes past 0x43 are dropped (writes) or read as all ones.
    void io_read(uint64_t offset, std::span<uint8_t> data) override;
    void io_write(uint64_t offset, std::span<const uint8_t> data) override;

    // Port 0x61, to be claimed on its own (length 1).
    IoDevice& control_port() { return m_control_port; }

    // Edges nearer together than this are delivered as one, late: a guest programming a tiny count
    // would otherwise keep the alarm thread busy at up to 1.19 MHz.
    static constexpr uint64_t kMinAlarmGapNs = 100'000;

private:
    class ControlPort final : public IoDevice {
    public:
        explicit ControlPort(I8254Pit& pit) : m_pit(pit) { }
        void io_read(uint64_t offset, std::span<uint8_t> data) override;
        void io_write(uint64_t offset, std::span<const uint8_t> data) override;

    private:
        I8254Pit& m_pit;
    };

    uint64_t now_locked();
    uint8_t read_port(uint64_t port, uint64_t now);
    void write_port(uint64_t port, uint8_t value, uint64_t now);
    void control_word(uint8_t value, uint64_t now);
    uint8_t read_port61(uint64_t now);
    void write_port61(uint8_t value, uint64_t now);
    bool sync_irq0(uint64_t now);
    void cancel_alarm_locked();
    void on_alarm(uint64_t generation);

    DeviceClock& m_clock;
    IrqLine m_irq0;
    ControlPort m_control_port { *this };

    std::mutex m_lock; // everything below
    std::array<PitChannel, 3> m_channels;
    uint8_t m_port61 = 0; // bits 0-3 as last written
    bool m_refresh = false;
    uint64_t m_last_now = 0; // time never runs backwards for the channels, whichever thread asks
    uint64_t m_alarm = DeviceClock::kNoAlarm;
    uint64_t m_alarm_deadline = 0;
    uint64_t m_generation = 0;  // of the one alarm that may act; every cancel or re-arm moves it
    uint64_t m_last_alarm_ns = 0;
};

} // namespace xkvm::devices

// A 16550A UART (COM1 at 0x3f8, IRQ 4): transmit goes to the console, input comes from the console
// client, and the interrupt line follows the enabled and pending conditions.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "devices/io_bus.h"

namespace xkvm::devices {

inline constexpr uint16_t kCom1Base = 0x3f8;
inline constexpr uint32_t kCom1Irq = 4;

class Uart16550 final : public IoDevice {
public:
    // `irq(level)` drives the UART's interrupt line; it is called with the UART's lock released.
    Uart16550(ConsoleSink& sink, std::function<void(bool)> irq);

    void io_read(uint64_t offset, std::span<uint8_t> data) override;
    void io_write(uint64_t offset, std::span<const uint8_t> data) override;

    // Bytes typed at the console.
    void receive(std::string_view bytes);

private:
    uint8_t read_reg(uint8_t reg);
    void write_reg(uint8_t reg, uint8_t value);
    bool irq_condition() const;
    uint8_t iir() const;
    void update_irq(std::unique_lock<std::mutex>& lock);

    ConsoleSink& m_sink;
    std::function<void(bool)> m_irq;

    std::mutex m_lock;
    std::deque<uint8_t> m_rx;
    uint8_t m_ier = 0, m_lcr = 0, m_mcr = 0, m_scr = 0, m_fcr = 0;
    uint8_t m_dll = 0x0c, m_dlm = 0; // 9600 baud, as firmware leaves it
    bool m_thr_interrupt = false;    // THR empty, not yet acknowledged by reading IIR
    bool m_line = false;
};

} // namespace xkvm::devices

#include "devices/uart16550.h"

namespace xkvm::devices {

namespace {

enum Reg : uint8_t { Rbr = 0, Ier = 1, Iir = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7 };

constexpr uint8_t kIerRdi = 0x01;  // received data available
constexpr uint8_t kIerThri = 0x02; // transmitter holding register empty
constexpr uint8_t kIirNone = 0x01;
constexpr uint8_t kIirThri = 0x02;
constexpr uint8_t kIirRdi = 0x04;
constexpr uint8_t kIirFifo = 0xc0;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLsrDr = 0x01;
constexpr uint8_t kLsrThre = 0x20;
constexpr uint8_t kLsrTemt = 0x40;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMsrDcdDsrCts = 0xb0;
constexpr size_t kRxLimit = 4096;

} // namespace

Uart16550::Uart16550(ConsoleSink& sink, std::function<void(bool)> irq) : m_sink(sink), m_irq(std::move(irq)) { }

bool Uart16550::irq_condition() const
{
    return ((m_ier & kIerRdi) && !m_rx.empty()) || ((m_ier & kIerThri) && m_thr_interrupt);
}

uint8_t Uart16550::iir() const
{
    uint8_t fifo = (m_fcr & 1) ? kIirFifo : 0;
    if ((m_ier & kIerRdi) && !m_rx.empty())
        return kIirRdi | fifo;
    if ((m_ier & kIerThri) && m_thr_interrupt)
        return kIirThri | fifo;
    return kIirNone | fifo;
}

void Uart16550::update_irq(std::unique_lock<std::mutex>& lock)
{
    bool level = irq_condition();
    if (level == m_line)
        return;
    m_line = level;
    lock.unlock();
    if (m_irq)
        m_irq(level);
    lock.lock();
}

uint8_t Uart16550::read_reg(uint8_t reg)
{
    bool dlab = m_lcr & kLcrDlab;
    switch (reg) {
    case Rbr:
        if (dlab)
            return m_dll;
        if (m_rx.empty())
            return 0;
        else {
            uint8_t b = m_rx.front();
            m_rx.pop_front();
            return b;
        }
    case Ier:
        return dlab ? m_dlm : m_ier;
    case Iir: {
        uint8_t v = iir();
        if ((v & 0x0f) == kIirThri)
            m_thr_interrupt = false; // reading IIR acknowledges a THR-empty interrupt
        return v;
    }
    case Lcr:
        return m_lcr;
    case Mcr:
        return m_mcr;
    case Lsr:
        return kLsrThre | kLsrTemt | (m_rx.empty() ? 0 : kLsrDr);
    case Msr:
        return (m_mcr & kMcrLoop) ? 0 : kMsrDcdDsrCts;
    default:
        return m_scr;
    }
}

void Uart16550::write_reg(uint8_t reg, uint8_t value)
{
    bool dlab = m_lcr & kLcrDlab;
    switch (reg) {
    case Rbr:
        if (dlab) {
            m_dll = value;
            return;
        }
        if (m_mcr & kMcrLoop) {
            if (m_rx.size() < kRxLimit)
                m_rx.push_back(value);
        } else {
            char c = static_cast<char>(value);
            m_sink.console_output(std::string_view(&c, 1));
        }
        m_thr_interrupt = true; // we transmit instantly, so the THR is empty again at once
        return;
    case Ier:
        if (dlab) {
            m_dlm = value;
            return;
        }
        // Enabling THRI while the THR is empty raises the interrupt, as on hardware.
        if ((value & kIerThri) && !(m_ier & kIerThri))
            m_thr_interrupt = true;
        m_ier = value & 0x0f;
        return;
    case Iir:
        m_fcr = value;
        if (value & 0x02)
            m_rx.clear();
        return;
    case Lcr:
        m_lcr = value;
        return;
    case Mcr:
        m_mcr = value & 0x1f;
        return;
    case Scr:
        m_scr = value;
        return;
    default:
        return; // LSR and MSR are read-only
    }
}

void Uart16550::io_read(uint64_t offset, std::span<uint8_t> data)
{
    std::unique_lock lock(m_lock);
    data[0] = offset < 8 ? read_reg(static_cast<uint8_t>(offset)) : 0xff;
    for (size_t i = 1; i < data.size(); ++i)
        data[i] = 0xff;
    update_irq(lock);
}

void Uart16550::io_write(uint64_t offset, std::span<const uint8_t> data)
{
    std::unique_lock lock(m_lock);
    if (offset < 8)
        write_reg(static_cast<uint8_t>(offset), data[0]);
    update_irq(lock);
}

void Uart16550::receive(std::string_view bytes)
{
    std::unique_lock lock(m_lock);
    for (char c : bytes)
        if (m_rx.size() < kRxLimit)
            m_rx.push_back(static_cast<uint8_t>(c));
    update_irq(lock);
}

} // namespace xkvm::devices

#include "irqchip/ioapic.h"

namespace xkvm::irqchip {

namespace {
constexpr uint32_t kMmioSelect = 0x00, kMmioWindow = 0x10, kMmioEoi = 0x40;
constexpr uint32_t kIdReg = 0x00, kVersionReg = 0x01, kArbitrationReg = 0x02, kRedirFirst = 0x10;
constexpr uint64_t kRedirWritableLow = 0x1afff; // vector, mode, dest mode, polarity, trigger, mask
constexpr uint32_t kRedirWritableHigh = 0xff000000u;
} // namespace

Ioapic::Ioapic(IoapicHost& host, uint8_t id) : m_host(host), m_id((id & 0xfu) << 24)
{
    m_redir.fill(kMasked);
}

void Ioapic::reset()
{
    std::lock_guard guard(m_lock);
    m_redir.fill(kMasked);
    m_edge_latched.fill(false);
    m_select = 0;
}

uint32_t Ioapic::mmio_read(uint32_t offset, unsigned size)
{
    std::lock_guard guard(m_lock);
    if (offset == kMmioSelect && (size == 1 || size == 2 || size == 4))
        return m_select;
    if (offset == kMmioWindow && size == 4)
        return read_register(m_select);
    return 0;
}

void Ioapic::mmio_write(uint32_t offset, uint32_t value, unsigned size)
{
    if (offset == kMmioEoi && size == 4) {
        eoi(static_cast<uint8_t>(value));
        return;
    }
    std::vector<InterruptMessage> out;
    {
        std::lock_guard guard(m_lock);
        if (offset == kMmioSelect && (size == 1 || size == 2 || size == 4))
            m_select = static_cast<uint8_t>(value);
        else if (offset == kMmioWindow && size == 4)
            write_register(m_select, value, out);
    }
    send(out);
}

uint32_t Ioapic::read_register(uint32_t reg) const
{
    switch (reg) {
    case kIdReg: return m_id;
    case kVersionReg: return kVersion;
    case kArbitrationReg: return m_id;
    default: break;
    }
    if (reg < kRedirFirst || reg >= kRedirFirst + 2 * kPins)
        return 0xffffffffu; // absent registers float high
    uint64_t entry = m_redir[(reg - kRedirFirst) / 2];
    return static_cast<uint32_t>(reg & 1 ? entry >> 32 : entry);
}

void Ioapic::write_register(uint32_t reg, uint32_t value, std::vector<InterruptMessage>& out)
{
    if (reg == kIdReg) {
        m_id = value & 0x0f000000u;
        return;
    }
    if (reg < kRedirFirst || reg >= kRedirFirst + 2 * kPins)
        return;
    unsigned pin = (reg - kRedirFirst) / 2;
    uint64_t& entry = m_redir[pin];
    if (reg & 1) {
        entry = (entry & 0xffffffffull) | (uint64_t { value & kRedirWritableHigh } << 32);
        return;
    }
    uint64_t low = (value & kRedirWritableLow) | (entry & kRemoteIrr);
    if (!(low & kLevelTrigger))
        low &= ~kRemoteIrr; // remote IRR means nothing for an edge pin
    entry = (entry & ~0xffffffffull) | low;
    // Unmasking a level pin that is still asserted delivers it now.
    if (low & kLevelTrigger)
        service(pin, out);
}

void Ioapic::service(unsigned pin, std::vector<InterruptMessage>& out)
{
    uint64_t& entry = m_redir[pin];
    if (entry & kMasked)
        return;
    InterruptMessage msg;
    msg.vector = static_cast<uint8_t>(entry);
    msg.mode = static_cast<DeliveryMode>((entry >> 8) & 7);
    msg.logical = (entry >> 11) & 1;
    msg.level_triggered = entry & kLevelTrigger;
    msg.destination = static_cast<uint32_t>(entry >> 56);
    if (msg.level_triggered) {
        if (!m_level[pin] || (entry & kRemoteIrr))
            return;
        // Only fixed and lowest-priority interrupts are ever EOI'd; others must not wedge the pin.
        if (msg.mode == DeliveryMode::Fixed || msg.mode == DeliveryMode::LowestPriority)
            entry |= kRemoteIrr;
    } else {
        if (!m_edge_latched[pin])
            return;
        m_edge_latched[pin] = false;
    }
    out.push_back(msg);
}

void Ioapic::set_irq(unsigned pin, bool level)
{
    if (pin >= kPins)
        return;
    std::vector<InterruptMessage> out;
    {
        std::lock_guard guard(m_lock);
        bool rising = level && !m_level[pin];
        m_level[pin] = level;
        if (m_redir[pin] & kLevelTrigger) {
            if (level)
                service(pin, out);
        } else if (rising) {
            // An edge seen while masked is lost, as on the real part.
            m_edge_latched[pin] = !(m_redir[pin] & kMasked);
            service(pin, out);
        }
    }
    send(out);
}

void Ioapic::eoi(uint8_t vector)
{
    std::vector<unsigned> cleared;
    std::vector<std::function<void()>> callbacks;
    {
        std::lock_guard guard(m_lock);
        for (unsigned pin = 0; pin < kPins; ++pin) {
            uint64_t& entry = m_redir[pin];
            if (!(entry & kRemoteIrr) || static_cast<uint8_t>(entry) != vector)
                continue;
            entry &= ~kRemoteIrr;
            if (m_resample[pin])
                m_level[pin] = m_resample[pin]();
            cleared.push_back(pin);
            if (m_eoi_callbacks[pin])
                callbacks.push_back(m_eoi_callbacks[pin]);
        }
    }
    if (cleared.empty())
        return;
    for (auto& callback : callbacks)
        callback();
    std::vector<InterruptMessage> out;
    {
        std::lock_guard guard(m_lock);
        for (unsigned pin : cleared)
            if (m_redir[pin] & kLevelTrigger)
                service(pin, out);
    }
    send(out);
}

void Ioapic::set_eoi_callback(unsigned pin, std::function<void()> callback)
{
    if (pin >= kPins)
        return;
    std::lock_guard guard(m_lock);
    m_eoi_callbacks[pin] = std::move(callback);
}

void Ioapic::set_resample(unsigned pin, std::function<bool()> still_asserted)
{
    if (pin >= kPins)
        return;
    std::lock_guard guard(m_lock);
    m_resample[pin] = std::move(still_asserted);
}

uint64_t Ioapic::redirection(unsigned pin) const
{
    std::lock_guard guard(m_lock);
    return pin < kPins ? m_redir[pin] : 0;
}

void Ioapic::send(const std::vector<InterruptMessage>& out)
{
    for (const auto& msg : out)
        m_host.deliver(msg);
}

} // namespace xkvm::irqchip

#include "irqchip/pic_chip.h"

namespace xkvm::irqchip {

void PicChip::reset()
{
    uint8_t elcr = m_elcr;
    uint8_t lines = m_lines;
    *this = PicChip {};
    m_elcr = elcr;
    m_lines = lines;
}

void PicChip::set_input(unsigned line, bool level)
{
    line &= 7;
    uint8_t bit = static_cast<uint8_t>(1u << line);
    bool rising = level && !(m_lines & bit);
    m_lines = static_cast<uint8_t>(level ? m_lines | bit : m_lines & ~bit);
    if (level_mode(line))
        m_irr = static_cast<uint8_t>(level ? m_irr | bit : m_irr & ~bit);
    else if (rising)
        m_irr |= bit;
}

void PicChip::set_cascade(unsigned line, bool level)
{
    uint8_t bit = static_cast<uint8_t>(1u << (line & 7));
    m_lines = static_cast<uint8_t>(level ? m_lines | bit : m_lines & ~bit);
    m_irr = static_cast<uint8_t>(level ? m_irr | bit : m_irr & ~bit);
}

void PicChip::write_command(uint8_t value)
{
    if (value & 0x10) { // ICW1
        reset();
        m_icw4_needed = value & 0x01;
        m_single = value & 0x02;
        m_ltim = value & 0x08;
        m_init_step = 2;
        // Edge detection starts afresh: an edge line already high needs a new rising edge.
        for (unsigned line = 0; line < 8; ++line)
            if (level_mode(line) && (m_lines >> line & 1))
                m_irr |= static_cast<uint8_t>(1u << line);
        return;
    }
    if (value & 0x08) { // OCW3
        if (value & 0x04)
            m_poll = true;
        if (value & 0x02)
            m_read_isr = value & 0x01;
        if (value & 0x40)
            m_special_mask = value & 0x20;
        return;
    }
    write_ocw2(value);
}

void PicChip::write_ocw2(uint8_t value)
{
    unsigned level = value & 7;
    switch (value >> 5) {
    case 0: m_rotate_on_auto_eoi = false; break;
    case 4: m_rotate_on_auto_eoi = true; break;
    case 1: // non-specific EOI
    case 5: // ... and rotate
        if (auto line = highest_in_service()) {
            m_isr &= static_cast<uint8_t>(~(1u << *line));
            if (value >> 5 == 5)
                m_lowest = static_cast<uint8_t>(*line);
        }
        break;
    case 3: // specific EOI
    case 7: // ... and rotate
        m_isr &= static_cast<uint8_t>(~(1u << level));
        if (value >> 5 == 7)
            m_lowest = static_cast<uint8_t>(level);
        break;
    case 6: m_lowest = static_cast<uint8_t>(level); break;
    default: break; // 2: no operation
    }
}

void PicChip::write_data(uint8_t value)
{
    switch (m_init_step) {
    case 2:
        m_vector_base = value & 0xf8;
        m_init_step = m_single ? (m_icw4_needed ? 4 : 0) : 3;
        return;
    case 3: // ICW3: the cascade wiring is fixed (slave on IRQ 2)
        m_init_step = m_icw4_needed ? 4 : 0;
        return;
    case 4:
        m_auto_eoi = value & 0x02;
        m_init_step = 0;
        return;
    default: m_imr = value; return;
    }
}

uint8_t PicChip::read_command()
{
    if (m_poll) {
        m_poll = false;
        auto line = pending();
        if (!line)
            return 0;
        acknowledge(*line);
        return static_cast<uint8_t>(0x80 | *line);
    }
    return m_read_isr ? m_isr : m_irr;
}

std::optional<unsigned> PicChip::highest_in_service() const
{
    for (unsigned rank = 0; rank < 8; ++rank) {
        unsigned line = priority_line(rank);
        if (m_isr >> line & 1)
            return line;
    }
    return std::nullopt;
}

std::optional<unsigned> PicChip::pending() const
{
    uint8_t requests = m_irr & static_cast<uint8_t>(~m_imr);
    // In special mask mode a masked line in service does not hold back lower priorities.
    uint8_t blocking = m_special_mask ? m_isr & static_cast<uint8_t>(~m_imr) : m_isr;
    for (unsigned rank = 0; rank < 8; ++rank) {
        unsigned line = priority_line(rank);
        if (blocking >> line & 1)
            return std::nullopt;
        if (requests >> line & 1)
            return line;
    }
    return std::nullopt;
}

uint8_t PicChip::acknowledge(unsigned line)
{
    line &= 7;
    uint8_t bit = static_cast<uint8_t>(1u << line);
    if (!level_mode(line))
        m_irr &= static_cast<uint8_t>(~bit);
    if (m_auto_eoi) {
        if (m_rotate_on_auto_eoi)
            m_lowest = static_cast<uint8_t>(line);
    } else {
        m_isr |= bit;
    }
    return static_cast<uint8_t>(m_vector_base | line);
}

} // namespace xkvm::irqchip

// One 8259A: the request, in-service and mask registers, the ICW/OCW state machine, rotating
// priority. No locking and no cascade knowledge: Pic pairs two of these.
#pragma once

#include <cstdint>
#include <optional>

namespace xkvm::irqchip {

class PicChip {
public:
    void reset();

    // Line 0-7. Edge mode latches a rising edge in IRR; level mode (ELCR or ICW1.LTIM) mirrors the line.
    void set_input(unsigned line, bool level);
    // The cascade input: the slave's INTR, always level-sensitive.
    void set_cascade(unsigned line, bool level);

    void write_command(uint8_t value);
    void write_data(uint8_t value);
    uint8_t read_command(); // IRR, ISR, or a poll answer
    uint8_t read_data() const { return m_imr; }

    void set_elcr(uint8_t value) { m_elcr = value; }
    uint8_t elcr() const { return m_elcr; }

    // The request that would be raised now: unmasked, and higher in priority than anything in service.
    std::optional<unsigned> pending() const;
    // INTA for `line` (from pending()): returns the vector and updates ISR/IRR.
    uint8_t acknowledge(unsigned line);
    uint8_t spurious_vector() const { return static_cast<uint8_t>(m_vector_base | 7); }
    bool polling() const { return m_poll; }

    uint8_t irr() const { return m_irr; }
    uint8_t isr() const { return m_isr; }
    uint8_t imr() const { return m_imr; }
    bool single() const { return m_single; }

private:
    bool level_mode(unsigned line) const { return m_ltim || (m_elcr >> line & 1); }
    unsigned priority_line(unsigned rank) const { return (m_lowest + 1 + rank) & 7; }
    void write_ocw2(uint8_t value);
    std::optional<unsigned> highest_in_service() const;

    uint8_t m_irr = 0;
    uint8_t m_isr = 0;
    uint8_t m_imr = 0;
    uint8_t m_elcr = 0;
    uint8_t m_lines = 0;
    uint8_t m_vector_base = 0;
    uint8_t m_lowest = 7;
    uint8_t m_init_step = 0; // 0 = operational, else the ICW expected next (2..4)
    bool m_icw4_needed = false;
    bool m_single = false;
    bool m_ltim = false;
    bool m_auto_eoi = false;
    bool m_rotate_on_auto_eoi = false;
    bool m_read_isr = false;
    bool m_poll = false;
    bool m_special_mask = false;
};

} // namespace xkvm::irqchip

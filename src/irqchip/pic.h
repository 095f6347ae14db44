// The PC's dual 8259A: master at 0x20/0x21, slave at 0xa0/0xa1 cascaded on the master's IRQ 2, and
// the edge/level control registers at 0x4d0/0x4d1. Thread-safe; `on_raise` is called (without the
// lock) whenever INTR may have gone high, so the owner can kick the vCPU whose LINT0 takes it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>

#include "irqchip/pic_chip.h"

namespace xkvm::irqchip {

class Pic {
public:
    explicit Pic(std::function<void()> on_raise = {});

    // Machine reset: both chips uninitialised, edge-triggered, unmasked.
    void reset();

    static bool claims(uint16_t port);
    uint8_t io_read(uint16_t port);
    void io_write(uint16_t port, uint8_t value);

    void set_irq(unsigned irq, bool level); // 0-15; IRQ 2 is the cascade and is ignored
    bool output() const;                    // INTR
    // INTA: the vector of the highest request, or the master's (7) or slave's (15) spurious vector.
    uint8_t acknowledge();

private:
    static constexpr unsigned kMaster = 0, kSlave = 1, kCascadeLine = 2;

    void sync_cascade();
    bool output_locked() const;
    void notify(bool was_high);

    mutable std::mutex m_lock;
    std::array<PicChip, 2> m_chips;
    std::function<void()> m_on_raise;
};

} // namespace xkvm::irqchip

#include "irqchip/pic.h"

namespace xkvm::irqchip {

namespace {
constexpr uint16_t kMasterCommand = 0x20, kMasterData = 0x21, kSlaveCommand = 0xa0, kSlaveData = 0xa1;
constexpr uint16_t kElcrMaster = 0x4d0, kElcrSlave = 0x4d1;
// IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge-triggered.
constexpr uint8_t kElcrMasterWritable = 0xf8, kElcrSlaveWritable = 0xde;
} // namespace

Pic::Pic(std::function<void()> on_raise) : m_on_raise(std::move(on_raise)) { }

void Pic::reset()
{
    std::lock_guard guard(m_lock);
    for (auto& chip : m_chips) {
        chip.set_elcr(0);
        chip.reset();
    }
    sync_cascade();
}

bool Pic::claims(uint16_t port)
{
    return port == kMasterCommand || port == kMasterData || port == kSlaveCommand || port == kSlaveData
        || port == kElcrMaster || port == kElcrSlave;
}

void Pic::sync_cascade()
{
    m_chips[kMaster].set_cascade(kCascadeLine, m_chips[kSlave].pending().has_value());
}

bool Pic::output_locked() const { return m_chips[kMaster].pending().has_value(); }

bool Pic::output() const
{
    std::lock_guard guard(m_lock);
    return output_locked();
}

void Pic::notify(bool was_high)
{
    if (!was_high && m_on_raise && output())
        m_on_raise();
}

uint8_t Pic::io_read(uint16_t port)
{
    bool was_high;
    uint8_t value = 0xff;
    {
        std::lock_guard guard(m_lock);
        was_high = output_locked();
        switch (port) {
        case kMasterCommand: value = m_chips[kMaster].read_command(); break;
        case kMasterData: value = m_chips[kMaster].read_data(); break;
        case kSlaveCommand: value = m_chips[kSlave].read_command(); break;
        case kSlaveData: value = m_chips[kSlave].read_data(); break;
        case kElcrMaster: value = m_chips[kMaster].elcr(); break;
        case kElcrSlave: value = m_chips[kSlave].elcr(); break;
        default: break;
        }
        sync_cascade(); // a poll read acknowledges
    }
    notify(was_high);
    return value;
}

void Pic::io_write(uint16_t port, uint8_t value)
{
    bool was_high;
    {
        std::lock_guard guard(m_lock);
        was_high = output_locked();
        switch (port) {
        case kMasterCommand: m_chips[kMaster].write_command(value); break;
        case kMasterData: m_chips[kMaster].write_data(value); break;
        case kSlaveCommand: m_chips[kSlave].write_command(value); break;
        case kSlaveData: m_chips[kSlave].write_data(value); break;
        case kElcrMaster: m_chips[kMaster].set_elcr(value & kElcrMasterWritable); break;
        case kElcrSlave: m_chips[kSlave].set_elcr(value & kElcrSlaveWritable); break;
        default: break;
        }
        sync_cascade();
    }
    notify(was_high);
}

void Pic::set_irq(unsigned irq, bool level)
{
    if (irq >= 16 || irq == kCascadeLine)
        return;
    bool was_high;
    {
        std::lock_guard guard(m_lock);
        was_high = output_locked();
        m_chips[irq / 8].set_input(irq % 8, level);
        sync_cascade();
    }
    notify(was_high);
}

uint8_t Pic::acknowledge()
{
    std::lock_guard guard(m_lock);
    auto& master = m_chips[kMaster];
    auto& slave = m_chips[kSlave];
    auto line = master.pending();
    if (!line)
        return master.spurious_vector();
    uint8_t vector;
    if (*line == kCascadeLine && !master.single()) {
        auto slave_line = slave.pending();
        master.acknowledge(kCascadeLine);
        vector = slave_line ? slave.acknowledge(*slave_line) : slave.spurious_vector();
    } else {
        vector = master.acknowledge(*line);
    }
    sync_cascade();
    return vector;
}

} // namespace xkvm::irqchip

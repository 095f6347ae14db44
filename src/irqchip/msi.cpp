#include "irqchip/msi.h"

namespace xkvm::irqchip {

namespace {
constexpr uint32_t kInterruptRange = 0xfee00000u;
constexpr uint32_t kRangeMask = 0xfff00000u;
constexpr uint32_t kDestModeLogical = 1u << 2;
constexpr uint32_t kDataLevelAssert = 1u << 14;
constexpr uint32_t kDataLevelTrigger = 1u << 15;
} // namespace

std::optional<InterruptMessage> decode_msi(uint64_t address, uint32_t data)
{
    auto low = static_cast<uint32_t>(address);
    auto high = static_cast<uint32_t>(address >> 32);
    if ((low & kRangeMask) != kInterruptRange)
        return std::nullopt;
    bool level = data & kDataLevelTrigger;
    if (level && !(data & kDataLevelAssert))
        return std::nullopt; // a de-assert message carries no interrupt
    InterruptMessage msg;
    msg.destination = (high & 0xffffff00u) | ((low >> 12) & 0xffu);
    msg.x2apic_format = high != 0;
    msg.logical = low & kDestModeLogical;
    msg.mode = static_cast<DeliveryMode>((data >> 8) & 7);
    msg.vector = static_cast<uint8_t>(data);
    msg.level_triggered = level;
    return msg;
}

} // namespace xkvm::irqchip

// MSI address/data decoding (Intel SDM "Message Signalled Interrupts").
#pragma once

#include <cstdint>
#include <optional>

#include "irqchip/types.h"

namespace xkvm::irqchip {

// address: 0xfee00000 | dest[7:0] << 12 | RH << 3 | DM << 2; the high dword carries dest[31:8] for
// x2APIC destinations. data: vector | mode << 8 | level-assert << 14 | trigger << 15.
// nullopt when the address is not in the interrupt range or the message is a level de-assert.
std::optional<InterruptMessage> decode_msi(uint64_t address, uint32_t data);

} // namespace xkvm::irqchip

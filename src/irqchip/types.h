// Vocabulary shared by the LAPIC, IOAPIC, MSI decoder and the bus that connects them.
#pragma once

#include <cstdint>

namespace xkvm::irqchip {

// The 3-bit delivery-mode field of ICR, LVT, redirection entries and MSI data. Value 3 is reserved:
// it can still appear (decoded from guest bits) and is dropped by every receiver.
enum class DeliveryMode : uint8_t { Fixed = 0, LowestPriority = 1, Smi = 2, Nmi = 4, Init = 5, Sipi = 6, ExtInt = 7 };

// NotMine: the index is not a LAPIC MSR, let the caller handle it. Fault: inject #GP.
enum class MsrAccess : uint8_t { NotMine, Ok, Fault };

enum class Shorthand : uint8_t { None = 0, Self = 1, AllIncludingSelf = 2, AllExcludingSelf = 3 };

// An interprocessor interrupt as written to the ICR.
struct Ipi {
    uint32_t source_apic_id = 0;
    uint32_t destination = 0; // 8 bits in xAPIC mode, 32 in x2APIC mode
    bool logical = false;
    Shorthand shorthand = Shorthand::None;
    DeliveryMode mode = DeliveryMode::Fixed;
    uint8_t vector = 0;
    bool level_triggered = false;
    bool x2apic = false; // destination is in x2APIC format (broadcast is 0xffffffff, not 0xff)
};

// An interrupt message from the IOAPIC or an MSI, before destination resolution.
struct InterruptMessage {
    uint32_t destination = 0;
    bool logical = false;
    DeliveryMode mode = DeliveryMode::Fixed;
    uint8_t vector = 0;
    bool level_triggered = false;
    bool x2apic_format = false;
};

// Vectors 0-15 are reserved for exceptions; fixed interrupts carrying them are errors (ESR).
constexpr uint8_t kFirstLegalVector = 16;

} // namespace xkvm::irqchip

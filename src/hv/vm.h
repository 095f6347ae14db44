// One virtual machine, whichever backend runs it: guest memory, interrupt delivery, vCPUs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "base/result.h"
#include "hv/introspection.h"
#include "hv/vcpu.h"
#include "memory/physmap.h"

namespace xkvm::hv {

// A level-triggered interrupt line whose owner asserts it; the guest's EOI lowers it, and the line
// asks `still_asserted` whether to assert again (the Xen GSI callback: held while events remain).
class LevelLine {
public:
    virtual ~LevelLine() = default;
    virtual uint32_t gsi() const = 0;
    virtual void assert_line() = 0;
};

class Vm {
public:
    virtual ~Vm() = default;

    // Follow a physmap: guest memory is what it maps, kept in step as it changes.
    virtual void attach_physmap(memory::Physmap& physmap) = 0;
    virtual void detach_physmap() = 0;

    // Interrupts into the IOAPIC/PIC (level: 1 assert, 0 deassert) and the LAPICs (MSI).
    virtual Status set_irq_line(uint32_t gsi, bool level) = 0;
    struct IrqRoute {
        enum class Chip : uint8_t { PicMaster, PicSlave, Ioapic };
        uint32_t gsi;
        Chip chip;
        uint32_t pin;
    };
    // Which interrupt-controller pins each GSI drives (replaces the default: GSI n is PIC pin n
    // for n < 16 and IOAPIC pin n).
    virtual Status set_irq_routing(std::span<const IrqRoute> routes) = 0;
    virtual Status signal_msi(uint64_t address, uint32_t data) = 0;
    // `vector` to the LAPIC with this APIC id, fixed delivery, edge.
    Status send_fixed_interrupt(uint32_t apic_id, uint8_t vector)
    {
        // MSI address 0xfee00000 | dest id << 12 (physical destination), data = vector.
        return signal_msi(0xfee00000ull | (static_cast<uint64_t>(apic_id & 0xff) << 12), vector);
    }
    virtual Result<std::unique_ptr<LevelLine>> create_level_line(uint32_t gsi, std::function<bool()> still_asserted) = 0;

    virtual Result<std::unique_ptr<Vcpu>> create_vcpu(uint32_t id) = 0;

    // Introspection (issue 10): what this backend can report, and per-page access limits on guest
    // memory (page aligned; `allowed` is kAccess* bits, kAccessAll lifts the limits).
    virtual IntrospectionCaps introspection_caps() const { return {}; }
    virtual Status set_page_access(memory::Gpa, uint64_t /*size*/, uint8_t /*allowed*/)
    {
        return fail(ENOSYS, "page access limits are not supported by this backend");
    }
};

} // namespace xkvm::hv

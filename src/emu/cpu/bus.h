// What the emulated CPU needs from the machine around it. The emu backend implements it: guest RAM
// from the physmap, the interrupt controllers it owns (LAPIC, IOAPIC, PIC), the CPUID table and the
// guest TSC. Anything the bus does not handle leaves the CPU as a CpuExit for the VMM.
#pragma once

#include <cstdint>
#include <optional>

namespace xkvm::emu {

inline constexpr uint64_t kPageSize = 4096;

enum class MsrResult : uint8_t {
    NotMine, // not the bus's: the CPU exits to the VMM with it
    Ok,
    Fault,   // #GP(0)
};

// The accesses a monitor allows on a guest frame (introspection): a refused one leaves the CPU as
// CpuExit::Kind::Introspect before the instruction executes.
enum PageAllow : uint8_t { kPageRead = 1, kPageWrite = 2, kPageExec = 4, kPageAll = 7 };

struct CpuidRegs {
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

class CpuBus {
public:
    virtual ~CpuBus() = default;

    // The host address of the guest-physical page `page_gpa` (4 KiB aligned), or nullptr where that
    // page is not RAM (MMIO, or nothing). With `write`, a read-only page also answers nullptr. The
    // pointer stays valid until the physmap changes; the bus then calls Cpu::flush_tlb().
    virtual uint8_t* ram_page(uint64_t page_gpa, bool write) = 0;
    // The kPage* accesses allowed on the RAM page `page_gpa`. Asked only when a translation enters
    // the TLB, so a change must be followed by Cpu::flush_tlb() (from the vCPU thread).
    virtual uint8_t page_allow(uint64_t /*page_gpa*/) { return kPageAll; }

    // Devices the backend itself owns. True: handled (reads filled in). False: not the bus's; the
    // access leaves the CPU as an exit to the VMM.
    virtual bool local_mmio(uint64_t gpa, void* data, unsigned size, bool write) = 0;
    virtual bool local_pio(uint16_t port, void* data, unsigned size, bool write) = 0;
    virtual MsrResult local_msr(uint32_t index, uint64_t& value, bool write) = 0;

    // The guest's CPUID (leaf, subleaf) as the VMM configured it.
    virtual CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf) = 0;
    // The guest TSC now.
    virtual uint64_t tsc() = 0;

    // Interrupt acceptance, at an instruction boundary where the CPU can take an external
    // interrupt (IF=1, no STI/MOV SS shadow): the vector the interrupt controllers want delivered
    // now (the LAPIC moves it from IRR to ISR), or none.
    virtual std::optional<uint8_t> acknowledge_interrupt() = 0;
};

} // namespace xkvm::emu

// One vCPU's local APIC: xAPIC MMIO page and x2APIC MSRs, priorities, IPIs, the timer.
//
// Threading: accept(), set_lint(), matches() and id() may be called from any thread. Everything else
// (register access, acknowledge, EOI, the timer, take_*) belongs to the owning vCPU thread. Accepting
// sets a bit in an atomic IRR and calls LapicHost::kick(); the vCPU thread reconciles when it next
// asks acknowledge()/interrupt_pending(). No internal threads, no sleeping: the owner drives the timer
// with next_deadline_ns()/update_timer().
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "irqchip/lapic_timer.h"
#include "irqchip/types.h"

namespace xkvm::irqchip {

// What a LAPIC needs from its machine.
class LapicHost {
public:
    virtual ~LapicHost() = default;
    virtual void send_ipi(const Ipi& ipi) = 0;   // the machine resolves destinations over all LAPICs
    virtual void eoi_level(uint8_t vector) = 0;  // a level-triggered vector was EOI'd (IOAPIC remote IRR)
    virtual void kick() = 0;                     // this LAPIC's vCPU should look (any thread)
    virtual uint64_t now_ns() = 0;               // the timer's clock
    virtual uint64_t tsc_to_ns(uint64_t tsc) = 0; // TSC-deadline mode
};

class Lapic {
public:
    static constexpr uint64_t kDefaultBase = 0xfee00000;
    static constexpr uint32_t kMsrApicBase = 0x1b;
    static constexpr uint32_t kMsrTscDeadline = 0x6e0;
    static constexpr uint32_t kMsrX2apicFirst = 0x800;
    static constexpr uint32_t kMsrX2apicLast = 0x8ff;
    static constexpr uint32_t kVersion = 0x00050014; // version 0x14, max LVT entry 5

    // ESR bits this model reports.
    static constexpr uint32_t kEsrSendIllegalVector = 1u << 5;
    static constexpr uint32_t kEsrReceiveIllegalVector = 1u << 6;
    static constexpr uint32_t kEsrIllegalRegister = 1u << 7;

    Lapic(uint32_t apic_id, bool bsp, LapicHost& host);
    Lapic(const Lapic&) = delete;
    Lapic& operator=(const Lapic&) = delete;

    // Machine reset (owner thread, vCPU stopped): the power-on state, xAPIC mode at the default base.
    void reset();

    // xAPIC page, `offset` within the 4 KiB page. Registers are 32 bits at 16-byte strides; reads of
    // 1, 2 or 4 bytes inside a register's first dword work, everything else reads 0 / is ignored.
    uint32_t mmio_read(uint32_t offset, unsigned size = 4);
    void mmio_write(uint32_t offset, uint32_t value, unsigned size = 4);

    // IA32_APIC_BASE (0x1b), IA32_TSC_DEADLINE (0x6e0) and the x2APIC range 0x800-0x8ff.
    MsrAccess msr_read(uint32_t index, uint64_t& value);
    MsrAccess msr_write(uint32_t index, uint64_t value);

    uint64_t apic_base() const { return m_base; }
    uint64_t mmio_base() const { return m_base & kBaseAddressMask; }
    bool mmio_enabled() const; // xAPIC MMIO decode on: enabled and not in x2APIC mode
    bool x2apic_mode() const { return m_x2apic.load(std::memory_order_relaxed); }

    // Any thread. Fixed/lowest-priority vectors are dropped unless the APIC is enabled (hardware and
    // software); illegal vectors (0-15) set ESR instead.
    void accept(DeliveryMode mode, uint8_t vector, bool level_triggered);
    // Any thread: the LINT0/LINT1 input lines; a rising edge delivers through the LVT entry (Fixed or
    // NMI). The PIC's INTR is not routed here: see accepts_pic_interrupts().
    void set_lint(unsigned pin, bool level);
    // Any thread: destination decode for IPIs, MSIs and the IOAPIC (broadcast included).
    bool matches(uint32_t destination, bool logical, bool x2apic_format) const;

    // vCPU thread: move the highest deliverable vector IRR -> ISR.
    std::optional<uint8_t> acknowledge();
    bool interrupt_pending() const;
    // Anything that should end a HLT: a deliverable vector, NMI, INIT, SIPI or ExtINT.
    bool wakeup_pending() const;
    bool take_nmi();
    // INIT also resets this LAPIC (all but its ID and IA32_APIC_BASE).
    bool take_init();
    // The latest SIPI's vector; the vCPU ignores it unless waiting for SIPI.
    std::optional<uint8_t> take_sipi();
    // An ExtINT-mode message arrived (IOAPIC/MSI): the vCPU takes the vector from the PIC.
    bool take_extint();
    // LINT0 is wired to the PIC's INTR: true when that line would be taken as an ExtINT interrupt.
    bool accepts_pic_interrupts() const;

    // Timer: the next time update_timer() has work (none while masked or idle).
    std::optional<uint64_t> next_deadline_ns() const;
    void update_timer(uint64_t now_ns);

    uint32_t id() const { return m_id.load(std::memory_order_relaxed); }
    uint8_t tpr() const { return static_cast<uint8_t>(m_tpr); }
    void set_tpr(uint8_t value) { m_tpr = value; }
    uint8_t cr8() const { return static_cast<uint8_t>(m_tpr >> 4); }
    void set_cr8(uint8_t value) { m_tpr = (value & 0xfu) << 4; }
    uint8_t ppr() const;

private:
    static constexpr uint64_t kBaseAddressMask = 0x000ffffffffff000ull;
    static constexpr unsigned kLvtTimer = 0, kLvtLint0 = 3, kLvtLint1 = 4, kLvtError = 5, kLvtCount = 6;
    static constexpr uint32_t kLvtMasked = 1u << 16;

    enum class WriteResult : uint8_t { Ok, ReadOnly, Reserved };

    void reset_registers(bool power_on);
    bool write_apic_base(uint64_t value);
    std::optional<uint32_t> read_register(uint32_t offset) const;
    WriteResult write_register(uint32_t offset, uint32_t value);
    MsrAccess x2apic_write(uint32_t offset, uint64_t value);
    void write_svr(uint32_t value);
    void write_lvt(unsigned index, uint32_t value);
    void send_icr(uint32_t low, uint32_t destination);
    void eoi();
    void raise_error(uint32_t bits);
    int highest_irr() const;
    int highest_isr() const;
    bool enabled() const; // hardware and software
    uint32_t x2apic_ldr() const;

    LapicHost& m_host;
    const uint32_t m_initial_id;
    const bool m_bsp;
    uint64_t m_base;

    // Read by other threads (delivery, destination decode).
    std::atomic<uint32_t> m_id;
    std::atomic<bool> m_x2apic { false };
    std::atomic<bool> m_hw_enabled { true };
    std::atomic<bool> m_sw_enabled { false };
    std::atomic<uint32_t> m_ldr { 0 };
    std::atomic<uint32_t> m_dfr { 0xffffffff };
    std::array<std::atomic<uint32_t>, kLvtCount> m_lvt {};
    std::array<std::atomic<uint32_t>, 8> m_irr {};
    std::array<std::atomic<uint32_t>, 8> m_tmr {};
    std::atomic<uint32_t> m_esr_pending { 0 };
    std::atomic<bool> m_nmi { false };
    std::atomic<bool> m_init { false };
    std::atomic<int> m_sipi { -1 };
    std::atomic<bool> m_extint { false };
    std::atomic<uint32_t> m_lint_level { 0 };

    // Owner thread only.
    std::array<uint32_t, 8> m_isr {};
    uint32_t m_tpr = 0;
    uint32_t m_svr = 0xff;
    uint32_t m_esr = 0;
    uint32_t m_icr_low = 0;
    uint32_t m_icr_high = 0;
    LapicTimer m_timer;
};

} // namespace xkvm::irqchip

#include "irqchip/lapic.h"

#include <bit>

namespace xkvm::irqchip {

namespace {
constexpr uint64_t kBaseBsp = 1ull << 8;
constexpr uint64_t kBaseExtd = 1ull << 10;
constexpr uint64_t kBaseEnable = 1ull << 11;
constexpr uint32_t kLvtLevelTrigger = 1u << 15;

int highest_set(auto const& words)
{
    for (int i = 7; i >= 0; --i) {
        uint32_t w = words[i];
        if (w != 0)
            return i * 32 + 31 - std::countl_zero(w);
    }
    return -1;
}

uint32_t bit_of(uint8_t vector) { return 1u << (vector & 31); }
} // namespace

Lapic::Lapic(uint32_t apic_id, bool bsp, LapicHost& host)
    : m_host(host), m_initial_id(apic_id), m_bsp(bsp), m_base(kDefaultBase | kBaseEnable | (bsp ? kBaseBsp : 0)),
      m_id(apic_id & 0xff)
{
    reset_registers(true);
}

void Lapic::reset()
{
    m_base = kDefaultBase | kBaseEnable | (m_bsp ? kBaseBsp : 0);
    m_hw_enabled = true;
    m_x2apic = false;
    m_id = m_initial_id & 0xff;
    m_nmi = false;
    m_init = false;
    m_sipi = -1;
    m_extint = false;
    reset_registers(true);
}

void Lapic::reset_registers(bool power_on)
{
    for (auto& w : m_irr)
        w.store(0);
    for (auto& w : m_tmr)
        w.store(0);
    m_isr = {};
    m_tpr = 0;
    m_svr = 0xff;
    m_sw_enabled = false;
    m_esr = 0;
    m_esr_pending = 0;
    m_icr_low = 0;
    m_icr_high = 0;
    m_dfr = 0xffffffff;
    m_ldr = m_x2apic ? x2apic_ldr() : 0;
    for (auto& lvt : m_lvt)
        lvt.store(kLvtMasked);
    // Firmware leaves the BSP's LINT0 in ExtINT mode so the PIC reaches it; there is no firmware here
    // (the same default KVM gives).
    if (power_on && m_bsp)
        m_lvt[kLvtLint0] = static_cast<uint32_t>(DeliveryMode::ExtInt) << 8;
    m_timer.reset();
}

uint32_t Lapic::x2apic_ldr() const { return ((m_initial_id >> 4) << 16) | (1u << (m_initial_id & 0xf)); }

bool Lapic::mmio_enabled() const { return m_hw_enabled && !m_x2apic; }

bool Lapic::enabled() const { return m_hw_enabled.load(std::memory_order_relaxed) && m_sw_enabled.load(std::memory_order_relaxed); }

bool Lapic::write_apic_base(uint64_t value)
{
    if (value & ~(kBaseAddressMask | kBaseBsp | kBaseExtd | kBaseEnable))
        return false;
    bool enable = value & kBaseEnable;
    bool extd = value & kBaseExtd;
    if (extd && !enable)
        return false; // the invalid state
    if (m_x2apic && enable && !extd)
        return false; // x2APIC -> xAPIC must go through disabled
    if (!m_hw_enabled && extd)
        return false; // disabled -> x2APIC must go through xAPIC
    // The BSP flag is the platform's, not the guest's.
    m_base = (value & (kBaseAddressMask | kBaseExtd | kBaseEnable)) | (m_bsp ? kBaseBsp : 0);
    if (!enable) {
        if (m_hw_enabled) {
            m_hw_enabled = false;
            m_x2apic = false;
            reset_registers(false);
            m_id = m_initial_id & 0xff;
        }
        return true;
    }
    m_hw_enabled = true;
    if (extd && !m_x2apic) {
        m_x2apic = true;
        m_id = m_initial_id;
        m_ldr = x2apic_ldr();
    }
    return true;
}

void Lapic::accept(DeliveryMode mode, uint8_t vector, bool level_triggered)
{
    switch (mode) {
    case DeliveryMode::Fixed:
    case DeliveryMode::LowestPriority: {
        if (!enabled())
            return;
        if (vector < kFirstLegalVector) {
            raise_error(kEsrReceiveIllegalVector);
            return;
        }
        unsigned word = vector / 32;
        // TMR before IRR: whoever sees the IRR bit sees the trigger mode that came with it.
        if (level_triggered)
            m_tmr[word].fetch_or(bit_of(vector));
        else
            m_tmr[word].fetch_and(~bit_of(vector));
        m_irr[word].fetch_or(bit_of(vector));
        break;
    }
    case DeliveryMode::Nmi:
        if (!m_hw_enabled)
            return;
        m_nmi = true;
        break;
    case DeliveryMode::Init:
        m_init = true;
        break;
    case DeliveryMode::Sipi:
        if (!m_hw_enabled)
            return;
        m_sipi = vector;
        break;
    case DeliveryMode::ExtInt:
        if (!m_hw_enabled)
            return;
        m_extint = true;
        break;
    default:
        return; // SMI is not modelled; 3 is reserved
    }
    m_host.kick();
}

void Lapic::raise_error(uint32_t bits)
{
    uint32_t before = m_esr_pending.fetch_or(bits);
    if ((before & bits) == bits)
        return; // already reported; also bounds the recursion of an illegal error vector
    uint32_t lvt = m_lvt[kLvtError];
    if (!(lvt & kLvtMasked))
        accept(DeliveryMode::Fixed, static_cast<uint8_t>(lvt), false);
}

void Lapic::set_lint(unsigned pin, bool level)
{
    if (pin > 1)
        return;
    uint32_t bit = 1u << pin;
    uint32_t before = level ? m_lint_level.fetch_or(bit) : m_lint_level.fetch_and(~bit);
    if (!level || (before & bit))
        return;
    uint32_t lvt = m_lvt[kLvtLint0 + pin];
    if (lvt & kLvtMasked)
        return;
    auto mode = static_cast<DeliveryMode>((lvt >> 8) & 7);
    if (mode == DeliveryMode::Fixed || mode == DeliveryMode::Nmi)
        accept(mode, static_cast<uint8_t>(lvt), (lvt & kLvtLevelTrigger) != 0);
}

bool Lapic::matches(uint32_t destination, bool logical, bool x2apic_format) const
{
    if (!m_hw_enabled.load(std::memory_order_relaxed))
        return false;
    uint32_t broadcast = x2apic_format ? 0xffffffffu : 0xffu;
    if (destination == broadcast)
        return true;
    bool x2 = m_x2apic.load(std::memory_order_relaxed);
    if (!logical)
        return destination == m_id.load(std::memory_order_relaxed);
    uint32_t ldr = m_ldr.load(std::memory_order_relaxed);
    if (x2)
        return (ldr >> 16) == (destination >> 16) && (ldr & destination & 0xffff) != 0;
    uint32_t mine = ldr >> 24;
    uint32_t dest = destination & 0xff;
    if ((m_dfr.load(std::memory_order_relaxed) >> 28) == 0xf)
        return (mine & dest) != 0; // flat: one bit per APIC
    return (mine >> 4) == (dest >> 4) && (mine & dest & 0xf) != 0; // cluster: id in [7:4], members in [3:0]
}

int Lapic::highest_irr() const { return highest_set(m_irr); }
int Lapic::highest_isr() const { return highest_set(m_isr); }

uint8_t Lapic::ppr() const
{
    int isrv = highest_isr();
    uint32_t isr_class = isrv < 0 ? 0 : static_cast<uint32_t>(isrv) & 0xf0;
    return static_cast<uint8_t>((m_tpr & 0xf0) >= isr_class ? m_tpr : isr_class);
}

bool Lapic::interrupt_pending() const
{
    if (!m_hw_enabled)
        return false;
    int irrv = highest_irr();
    return irrv >= 0 && (static_cast<uint32_t>(irrv) & 0xf0) > (ppr() & 0xf0u);
}

bool Lapic::wakeup_pending() const
{
    return interrupt_pending() || m_nmi || m_init || m_sipi >= 0 || m_extint;
}

std::optional<uint8_t> Lapic::acknowledge()
{
    if (!interrupt_pending())
        return std::nullopt;
    auto vector = static_cast<uint8_t>(highest_irr());
    m_irr[vector / 32].fetch_and(~bit_of(vector));
    m_isr[vector / 32] |= bit_of(vector);
    return vector;
}

void Lapic::eoi()
{
    int isrv = highest_isr();
    if (isrv < 0)
        return;
    auto vector = static_cast<uint8_t>(isrv);
    m_isr[vector / 32] &= ~bit_of(vector);
    if (m_tmr[vector / 32] & bit_of(vector))
        m_host.eoi_level(vector);
}

bool Lapic::take_nmi() { return m_nmi.exchange(false); }

bool Lapic::take_init()
{
    if (!m_init.exchange(false))
        return false;
    reset_registers(false);
    if (!m_x2apic)
        m_id = m_initial_id & 0xff;
    return true;
}

std::optional<uint8_t> Lapic::take_sipi()
{
    int v = m_sipi.exchange(-1);
    if (v < 0)
        return std::nullopt;
    return static_cast<uint8_t>(v);
}

bool Lapic::take_extint() { return m_extint.exchange(false); }

bool Lapic::accepts_pic_interrupts() const
{
    if (!m_hw_enabled)
        return true; // a disabled APIC passes INTR straight through
    uint32_t lvt = m_lvt[kLvtLint0];
    return !(lvt & kLvtMasked) && ((lvt >> 8) & 7) == static_cast<uint32_t>(DeliveryMode::ExtInt);
}

std::optional<uint64_t> Lapic::next_deadline_ns() const
{
    if (m_lvt[kLvtTimer] & kLvtMasked)
        return std::nullopt;
    return m_timer.deadline();
}

void Lapic::update_timer(uint64_t now_ns)
{
    if (!m_timer.expire(now_ns))
        return;
    uint32_t lvt = m_lvt[kLvtTimer];
    if (!(lvt & kLvtMasked))
        accept(DeliveryMode::Fixed, static_cast<uint8_t>(lvt), false);
}

} // namespace xkvm::irqchip

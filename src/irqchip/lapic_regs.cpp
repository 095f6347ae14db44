// The LAPIC's register file: xAPIC MMIO offsets and the x2APIC MSRs that mirror them.
#include "irqchip/lapic.h"

namespace xkvm::irqchip {

namespace {
constexpr uint32_t kRegId = 0x20, kRegVersion = 0x30, kRegApr = 0x90, kRegTpr = 0x80, kRegPpr = 0xa0;
constexpr uint32_t kRegEoi = 0xb0, kRegRrd = 0xc0, kRegLdr = 0xd0, kRegDfr = 0xe0, kRegSvr = 0xf0;
constexpr uint32_t kRegIsr = 0x100, kRegTmr = 0x180, kRegIrr = 0x200, kRegEsr = 0x280;
constexpr uint32_t kRegIcrLow = 0x300, kRegIcrHigh = 0x310, kRegLvtFirst = 0x320, kRegLvtLast = 0x370;
constexpr uint32_t kRegTimerInitial = 0x380, kRegTimerCurrent = 0x390, kRegTimerDivide = 0x3e0;
constexpr uint32_t kRegSelfIpi = 0x3f0;
constexpr uint32_t kPageSize = 0x1000;

constexpr uint32_t kIcrWritable = 0xccfff; // vector, mode, dest mode, level, trigger, shorthand
constexpr uint32_t kIcrLevelAssert = 1u << 14;
constexpr uint32_t kIcrLevelTrigger = 1u << 15;
constexpr uint32_t kSvrWritable = 0x3ff; // vector, enable, focus check; no EOI-broadcast suppression
constexpr uint32_t kSvrEnable = 1u << 8;
// Writable bits per LVT entry: timer, thermal, perf, LINT0, LINT1, error.
constexpr uint32_t kLvtWritable[] = { 0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff };

bool in_block(uint32_t offset, uint32_t first) { return offset >= first && offset < first + 0x80; }
} // namespace

uint32_t Lapic::mmio_read(uint32_t offset, unsigned size)
{
    if (!mmio_enabled() || offset >= kPageSize || (size != 1 && size != 2 && size != 4))
        return 0;
    uint32_t within = offset & 0xf;
    if (within + size > 4)
        return 0;
    auto value = read_register(offset & ~0xfu);
    if (!value) {
        raise_error(kEsrIllegalRegister);
        return 0;
    }
    uint32_t shifted = *value >> (within * 8);
    return size == 4 ? shifted : shifted & ((1u << (size * 8)) - 1);
}

void Lapic::mmio_write(uint32_t offset, uint32_t value, unsigned size)
{
    // The SDM requires aligned 32-bit writes; anything else is dropped rather than half-applied.
    if (!mmio_enabled() || offset >= kPageSize || size != 4 || (offset & 0xf) != 0)
        return;
    if (write_register(offset, value) == WriteResult::Reserved)
        raise_error(kEsrIllegalRegister);
}

std::optional<uint32_t> Lapic::read_register(uint32_t offset) const
{
    bool x2 = m_x2apic;
    if (in_block(offset, kRegIsr))
        return m_isr[(offset - kRegIsr) >> 4];
    if (in_block(offset, kRegTmr))
        return m_tmr[(offset - kRegTmr) >> 4].load();
    if (in_block(offset, kRegIrr))
        return m_irr[(offset - kRegIrr) >> 4].load();
    if (offset >= kRegLvtFirst && offset <= kRegLvtLast)
        return m_lvt[(offset - kRegLvtFirst) >> 4].load();
    switch (offset) {
    case kRegId: return x2 ? id() : id() << 24;
    case kRegVersion: return kVersion;
    case kRegTpr: return m_tpr;
    case kRegApr: return 0u;
    case kRegPpr: return ppr();
    case kRegEoi: return 0u;
    case kRegRrd: return 0u;
    case kRegLdr: return m_ldr.load();
    case kRegDfr: return x2 ? std::nullopt : std::optional<uint32_t>(m_dfr.load());
    case kRegSvr: return m_svr;
    case kRegEsr: return m_esr;
    case kRegIcrLow: return m_icr_low;
    case kRegIcrHigh: return x2 ? std::nullopt : std::optional<uint32_t>(m_icr_high);
    case kRegTimerInitial: return m_timer.initial();
    case kRegTimerCurrent: return m_timer.current(m_host.now_ns());
    case kRegTimerDivide: return m_timer.divide();
    default: return std::nullopt;
    }
}

Lapic::WriteResult Lapic::write_register(uint32_t offset, uint32_t value)
{
    bool x2 = m_x2apic;
    if (offset >= kRegLvtFirst && offset <= kRegLvtLast) {
        write_lvt((offset - kRegLvtFirst) >> 4, value);
        return WriteResult::Ok;
    }
    if (in_block(offset, kRegIsr) || in_block(offset, kRegTmr) || in_block(offset, kRegIrr))
        return WriteResult::ReadOnly;
    switch (offset) {
    case kRegId:
        if (x2)
            return WriteResult::ReadOnly;
        m_id = value >> 24;
        return WriteResult::Ok;
    case kRegTpr: m_tpr = value & 0xff; return WriteResult::Ok;
    case kRegEoi: eoi(); return WriteResult::Ok;
    case kRegLdr:
        if (x2)
            return WriteResult::ReadOnly;
        m_ldr = value & 0xff000000u;
        return WriteResult::Ok;
    case kRegDfr:
        if (x2)
            return WriteResult::Reserved;
        m_dfr = value | 0x0fffffffu;
        return WriteResult::Ok;
    case kRegSvr: write_svr(value); return WriteResult::Ok;
    case kRegEsr: m_esr = m_esr_pending.exchange(0); return WriteResult::Ok;
    case kRegIcrLow:
        m_icr_low = value & kIcrWritable;
        send_icr(m_icr_low, m_icr_high >> 24);
        return WriteResult::Ok;
    case kRegIcrHigh:
        if (x2)
            return WriteResult::Reserved;
        m_icr_high = value & 0xff000000u;
        return WriteResult::Ok;
    case kRegTimerInitial: m_timer.write_initial(value, m_host.now_ns()); return WriteResult::Ok;
    case kRegTimerDivide: m_timer.write_divide(value, m_host.now_ns()); return WriteResult::Ok;
    case kRegVersion:
    case kRegApr:
    case kRegPpr:
    case kRegRrd:
    case kRegTimerCurrent: return WriteResult::ReadOnly;
    default: return WriteResult::Reserved;
    }
}

void Lapic::write_svr(uint32_t value)
{
    m_svr = value & kSvrWritable;
    bool enable = (m_svr & kSvrEnable) != 0;
    m_sw_enabled = enable;
    if (!enable)
        for (auto& lvt : m_lvt)
            lvt.fetch_or(kLvtMasked);
}

void Lapic::write_lvt(unsigned index, uint32_t value)
{
    value &= kLvtWritable[index];
    if (!m_sw_enabled)
        value |= kLvtMasked; // a software-disabled APIC keeps every LVT masked
    if (index == kLvtTimer) {
        // Settle an expiry that happened under the old mask, so unmasking does not replay it.
        update_timer(m_host.now_ns());
        uint32_t mode = (value >> 17) & 3;
        m_timer.set_mode(mode == 1 ? LapicTimer::Mode::Periodic
                                   : mode == 2 ? LapicTimer::Mode::TscDeadline : LapicTimer::Mode::OneShot);
    }
    // LINT remote IRR (bit 14) is read-only; keep it.
    uint32_t keep = m_lvt[index] & (1u << 14);
    m_lvt[index] = value | keep;
}

void Lapic::send_icr(uint32_t low, uint32_t destination)
{
    auto mode = static_cast<DeliveryMode>((low >> 8) & 7);
    auto vector = static_cast<uint8_t>(low);
    bool level_trigger = low & kIcrLevelTrigger;
    if (mode == DeliveryMode::Init && level_trigger && !(low & kIcrLevelAssert))
        return; // INIT level de-assert only synchronises arbitration IDs on old parts
    if ((low >> 8 & 7) == 3)
        return;
    if ((mode == DeliveryMode::Fixed || mode == DeliveryMode::LowestPriority) && vector < kFirstLegalVector) {
        raise_error(kEsrSendIllegalVector);
        return;
    }
    Ipi ipi;
    ipi.source_apic_id = id();
    ipi.destination = destination;
    ipi.logical = (low >> 11) & 1;
    ipi.shorthand = static_cast<Shorthand>((low >> 18) & 3);
    ipi.mode = mode;
    ipi.vector = vector;
    ipi.level_triggered = level_trigger;
    ipi.x2apic = m_x2apic;
    m_host.send_ipi(ipi);
}

MsrAccess Lapic::msr_read(uint32_t index, uint64_t& value)
{
    if (index == kMsrApicBase) {
        value = m_base;
        return MsrAccess::Ok;
    }
    if (index == kMsrTscDeadline) {
        value = m_timer.tsc_deadline();
        return MsrAccess::Ok;
    }
    if (index < kMsrX2apicFirst || index > kMsrX2apicLast)
        return MsrAccess::NotMine;
    if (!m_x2apic)
        return MsrAccess::Fault;
    uint32_t offset = (index - kMsrX2apicFirst) << 4;
    if (offset == kRegIcrLow) {
        value = (uint64_t { m_icr_high } << 32) | m_icr_low;
        return MsrAccess::Ok;
    }
    // Write-only or absent in x2APIC mode.
    if (offset == kRegEoi || offset == kRegSelfIpi || offset == kRegApr || offset == kRegRrd)
        return MsrAccess::Fault;
    auto reg = read_register(offset);
    if (!reg)
        return MsrAccess::Fault;
    value = *reg;
    return MsrAccess::Ok;
}

MsrAccess Lapic::msr_write(uint32_t index, uint64_t value)
{
    if (index == kMsrApicBase)
        return write_apic_base(value) ? MsrAccess::Ok : MsrAccess::Fault;
    if (index == kMsrTscDeadline) {
        m_timer.write_tsc_deadline(value, value == 0 ? 0 : m_host.tsc_to_ns(value));
        return MsrAccess::Ok;
    }
    if (index < kMsrX2apicFirst || index > kMsrX2apicLast)
        return MsrAccess::NotMine;
    if (!m_x2apic)
        return MsrAccess::Fault;
    return x2apic_write((index - kMsrX2apicFirst) << 4, value);
}

MsrAccess Lapic::x2apic_write(uint32_t offset, uint64_t value)
{
    if (offset == kRegIcrLow) {
        m_icr_low = static_cast<uint32_t>(value) & kIcrWritable;
        m_icr_high = static_cast<uint32_t>(value >> 32);
        send_icr(m_icr_low, m_icr_high);
        return MsrAccess::Ok;
    }
    if (value >> 32)
        return MsrAccess::Fault;
    auto low = static_cast<uint32_t>(value);
    switch (offset) {
    case kRegEoi:
    case kRegEsr:
        if (low != 0)
            return MsrAccess::Fault;
        break;
    case kRegSelfIpi:
        if (low & ~0xffu)
            return MsrAccess::Fault;
        accept(DeliveryMode::Fixed, static_cast<uint8_t>(low), false);
        return MsrAccess::Ok;
    case kRegApr:
    case kRegRrd: return MsrAccess::Fault;
    default: break;
    }
    return write_register(offset, low) == WriteResult::Ok ? MsrAccess::Ok : MsrAccess::Fault;
}

} // namespace xkvm::irqchip

// The public Cpu facade: the VMM's calls, forwarded to CpuImpl or setting what its run loop reads.
#include "emu/cpu/cpu.h"

#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

Cpu::Cpu(CpuBus& bus) : m_impl(std::make_unique<CpuImpl>(bus)) {}
Cpu::~Cpu() = default;

EmuState& Cpu::state() { return m_impl->st; }

void Cpu::state_changed() { m_impl->state_changed(); }

CpuExit Cpu::run(uint64_t max_instructions) { return m_impl->run(max_instructions); }

void Cpu::complete_read(uint64_t data)
{
    CpuImpl& c = *m_impl;
    if (c.m_replay_count < 4)
        c.m_replay[c.m_replay_count++] = data;
}

void Cpu::complete_msr(uint64_t value, bool fault)
{
    m_impl->m_msr_completed = true;
    m_impl->m_msr_value = value;
    m_impl->m_msr_fault = fault;
}

void Cpu::request_stop() { m_impl->m_events.fetch_or(CpuImpl::kEventStop, std::memory_order_relaxed); }
void Cpu::raise_attention() { m_impl->m_events.fetch_or(CpuImpl::kEventAttention, std::memory_order_relaxed); }

void Cpu::deliver_nmi() { m_impl->m_nmi_pending = true; }

void Cpu::init_reset()
{
    CpuImpl& c = *m_impl;
    EmuMsrs msrs_kept = c.st.msr;
    c.st = EmuState{};
    c.st.msr.pat = msrs_kept.pat;
    for (unsigned s = 0; s < kSegCount; ++s) {
        x86::Segment& seg = c.st.seg[s];
        seg.limit = 0xffff;
        seg.present = true;
        seg.s = true;
        seg.type = s == SegCs ? 0xb : 0x3;
    }
    c.st.seg[SegCs].selector = 0xf000;
    c.st.seg[SegCs].base = 0xffff0000;
    c.st.rip = 0xfff0;
    c.st.gdt.limit = c.st.idt.limit = 0xffff;
    c.st.ldt.limit = c.st.tr.limit = 0xffff;
    c.st.ldt.type = 2;
    c.st.ldt.present = c.st.tr.present = true;
    c.st.tr.type = 0xb;
    c.st.run_state = RunState::WaitForSipi;
    c.m_nmi_pending = false;
    c.m_stop.triple = false;
    c.m_delivering = kNotDelivering;
    c.reset_replay();
    c.m_bypass = c.m_intercepted = false;
    c.m_held = {};
    c.m_queued_count = c.m_queued_next = 0;
    c.state_changed(); // also re-reads the CPUID features the CPU honours (SMEP, SMAP, UMIP)
}

void Cpu::start_at_sipi(uint8_t vector)
{
    CpuImpl& c = *m_impl;
    if (c.st.run_state != RunState::WaitForSipi)
        return;
    c.st.seg[SegCs].selector = uint16_t(vector) << 8;
    c.st.seg[SegCs].base = uint64_t(vector) << 12;
    c.st.rip = 0;
    c.st.run_state = RunState::Running;
    c.update_modes();
}

void Cpu::flush_tlb() { m_impl->flush_tlb(); }
void Cpu::set_single_step(bool on) { m_impl->m_stop.single_step = on; }
void Cpu::set_intercepts(CpuIntercepts intercepts) { m_impl->m_intercepts = std::move(intercepts); }
bool Cpu::finish_intercept(InterceptFinish how) { return m_impl->finish_intercept(how); }
std::optional<uint64_t> Cpu::translate(uint64_t lin) { return m_impl->probe(lin); }
uint64_t Cpu::instructions_retired() const { return m_impl->m_retired; }

} // namespace xkvm::emu

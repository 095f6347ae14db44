// EmuVcpu as the CPU's bus and the LAPIC's host, and its register views.
#include "emu/emu_vcpu.h"
#include "emu/emu_vm.h"

#include <algorithm>
#include <cstring>

namespace xkvm::emu {

uint8_t* EmuVcpu::ram_page(uint64_t page_gpa, bool write)
{
    memory::Physmap* physmap = m_vm.physmap();
    if (!physmap)
        return nullptr;
    auto host = physmap->host_range(page_gpa, kPageSize, write);
    return host ? *host : nullptr;
}

uint8_t EmuVcpu::page_allow(uint64_t page_gpa)
{
    return m_vm.page_allow(page_gpa);
}

bool EmuVcpu::local_mmio(uint64_t gpa, void* data, unsigned size, bool write)
{
    uint64_t page = gpa & ~(kPageSize - 1);
    uint32_t offset = static_cast<uint32_t>(gpa & (kPageSize - 1));
    uint32_t value = 0;
    if (write)
        std::memcpy(&value, data, std::min(size, 4u));
    if (m_lapic.mmio_enabled() && page == m_lapic.mmio_base()) {
        if (write)
            m_lapic.mmio_write(offset, value, size);
        else
            value = m_lapic.mmio_read(offset, size);
    } else if (page == EmuVm::kIoapicBase) {
        if (write)
            m_vm.ioapic().mmio_write(offset, value, size);
        else
            value = m_vm.ioapic().mmio_read(offset, size);
    } else {
        return false;
    }
    if (!write) {
        std::memset(data, 0, size);
        std::memcpy(data, &value, std::min(size, 4u));
    }
    return true;
}

bool EmuVcpu::local_pio(uint16_t port, void* data, unsigned size, bool write)
{
    if (!irqchip::Pic::claims(port))
        return false;
    auto* bytes = static_cast<uint8_t*>(data);
    if (write)
        m_vm.pic().io_write(port, bytes[0]);
    else
        bytes[0] = m_vm.pic().io_read(port);
    for (unsigned i = 1; i < size; ++i)
        if (!write)
            bytes[i] = 0xff;
    return true;
}

MsrResult EmuVcpu::local_msr(uint32_t index, uint64_t& value, bool write)
{
    irqchip::MsrAccess r = write ? m_lapic.msr_write(index, value) : m_lapic.msr_read(index, value);
    switch (r) {
    case irqchip::MsrAccess::Ok: return MsrResult::Ok;
    case irqchip::MsrAccess::Fault: return MsrResult::Fault;
    case irqchip::MsrAccess::NotMine: return MsrResult::NotMine;
    }
    return MsrResult::NotMine;
}

CpuidRegs EmuVcpu::cpuid(uint32_t leaf, uint32_t subleaf)
{
    hv::CpuidRegs r = m_cpuid.lookup(leaf, subleaf);
    return { r.eax, r.ebx, r.ecx, r.edx };
}

std::optional<uint8_t> EmuVcpu::acknowledge_interrupt()
{
    // The Xen callback vector bypasses the LAPIC, as an injected event does on KVM.
    int direct = m_direct_vector.exchange(-1);
    if (direct >= 0)
        return static_cast<uint8_t>(direct);
    if ((m_lapic.take_extint() || m_lapic.accepts_pic_interrupts()) && m_vm.pic().output())
        return m_vm.pic().acknowledge();
    return m_lapic.acknowledge();
}

void EmuVcpu::send_ipi(const irqchip::Ipi& ipi)
{
    m_vm.send_ipi(ipi);
}

void EmuVcpu::eoi_level(uint8_t vector)
{
    m_vm.level_eoi(vector);
}

Result<x86::Regs> EmuVcpu::regs()
{
    const EmuState& st = m_cpu.state();
    x86::Regs r;
    std::copy(std::begin(st.gpr), std::end(st.gpr), r.gpr);
    r.rip = st.rip;
    r.rflags = st.rflags;
    return r;
}

Status EmuVcpu::set_regs(const x86::Regs& r)
{
    EmuState& st = m_cpu.state();
    std::copy(std::begin(r.gpr), std::end(r.gpr), st.gpr);
    st.rip = r.rip;
    st.rflags = r.rflags | x86::kRflagsReserved1;
    return {};
}

Result<x86::CpuState> EmuVcpu::cpu_state()
{
    return to_cpu_state(m_cpu.state());
}

Status EmuVcpu::set_cpu_state(const x86::CpuState& state)
{
    apply_cpu_state(m_cpu.state(), state);
    m_cpu.state_changed();
    return {};
}

Result<x86::PagingMode> EmuVcpu::paging_mode()
{
    const EmuState& st = m_cpu.state();
    x86::PagingMode mode;
    mode.cr0 = st.cr0;
    mode.cr3 = st.cr3;
    mode.cr4 = st.cr4;
    mode.efer = st.efer;
    mode.cpl = st.cpl();
    mode.cs_long = st.seg[SegCs].l;
    return mode;
}

Result<hv::MpState> EmuVcpu::mp_state()
{
    switch (m_cpu.state().run_state) {
    case RunState::Running: return hv::MpState::Runnable;
    case RunState::Halted: return hv::MpState::Halted;
    case RunState::WaitForSipi: return hv::MpState::WaitForSipi;
    }
    return hv::MpState::Runnable;
}

Status EmuVcpu::set_mp_state(hv::MpState state)
{
    EmuState& st = m_cpu.state();
    switch (state) {
    case hv::MpState::Runnable: st.run_state = RunState::Running; break;
    case hv::MpState::Halted: st.run_state = RunState::Halted; break;
    case hv::MpState::WaitForSipi: m_cpu.init_reset(); break;
    }
    return {};
}

} // namespace xkvm::emu

// The emulated backend's hv::Vcpu: an interpreter (emu::Cpu) and its LAPIC, run on the vCPU's
// thread. HLT and wait-for-SIPI sleep here until an interrupt, a kick or the LAPIC timer wakes them;
// accesses the backend does not own leave as hv::Exit for the VMM.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "emu/cpu/cpu.h"
#include "hv/vcpu.h"
#include "irqchip/lapic.h"

namespace xkvm::emu {

class EmuVm;

class EmuVcpu final : public hv::Vcpu, private CpuBus, private irqchip::LapicHost {
public:
    EmuVcpu(EmuVm& vm, uint32_t id);
    ~EmuVcpu() override;

    uint32_t id() const override { return m_id; }
    hv::Exit& run() override;

    Result<x86::Regs> regs() override;
    Status set_regs(const x86::Regs& regs) override;
    Result<x86::CpuState> cpu_state() override;
    Status set_cpu_state(const x86::CpuState& state) override;
    Result<x86::PagingMode> paging_mode() override;
    Result<hv::MpState> mp_state() override;
    Status set_mp_state(hv::MpState state) override;
    Result<bool> try_inject_interrupt(uint8_t vector) override;
    Result<uint64_t> get_msr(uint32_t index) override;
    Status set_msrs(std::span<const std::pair<uint32_t, uint64_t>> msrs) override;
    Status set_cpuid(const hv::CpuidTable& table) override;
    Status set_single_step(bool on) override;
    Status set_intercepts(const hv::Intercepts& intercepts) override;
    Status finish_intercept(hv::InterceptFinish how) override;
    Result<uint64_t> translate(uint64_t linear) override;
    Result<uint32_t> tsc_khz() override;
    Result<bool> set_tsc_offset(uint64_t offset) override;
    void request_immediate_exit() override;
    void clear_immediate_exit() override { m_stop.store(false); }

    // From the VM (any thread).
    irqchip::Lapic& lapic() { return m_lapic; }
    void request_tlb_flush();
    void wake() { kick(); }
    std::optional<uint64_t> instructions_retired() const override { return m_cpu.instructions_retired(); }

private:
    // CpuBus
    uint8_t* ram_page(uint64_t page_gpa, bool write) override;
    uint8_t page_allow(uint64_t page_gpa) override;
    bool local_mmio(uint64_t gpa, void* data, unsigned size, bool write) override;
    bool local_pio(uint16_t port, void* data, unsigned size, bool write) override;
    MsrResult local_msr(uint32_t index, uint64_t& value, bool write) override;
    CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf) override;
    uint64_t tsc() override;
    std::optional<uint8_t> acknowledge_interrupt() override;
    // LapicHost
    void send_ipi(const irqchip::Ipi& ipi) override;
    void eoi_level(uint8_t vector) override;
    void kick() override;
    uint64_t now_ns() override;
    uint64_t tsc_to_ns(uint64_t tsc) override;

    void complete_previous_exit();
    void take_lapic_events();
    bool maskable_interrupt_ready();
    bool must_wait();
    void wait_for_wakeup();
    // The CPU's exit as hv:: reports it; false for exits the backend keeps to itself.
    bool translate_exit(const CpuExit& e);
    void translate_introspect(const CpuExit& e);

    EmuVm& m_vm;
    uint32_t m_id;
    // Before m_cpu: the CPU's constructor already asks the bus for CPUID leaves and the TSC.
    hv::CpuidTable m_cpuid;
    std::atomic<int64_t> m_tsc_offset { 0 };
    irqchip::Lapic m_lapic;
    Cpu m_cpu;
    hv::Exit m_exit;
    uint8_t m_data[8] = {}; // port and MMIO data of the current exit

    std::atomic<bool> m_stop { false };
    std::atomic<bool> m_tlb_flush { false };
    std::atomic<int> m_direct_vector { -1 };
    std::mutex m_wait_lock;
    std::condition_variable m_wait_cv;
    bool m_woken = false; // guarded by m_wait_lock
};

} // namespace xkvm::emu

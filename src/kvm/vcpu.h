// One KVM vCPU (the KVM backend's hv::Vcpu): its run structure, register access (cached per exit),
// interrupt/event state. Not thread-safe except request_immediate_exit(): only the vCPU's own
// thread touches the rest.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <linux/kvm.h>
#include <optional>
#include <pthread.h>
#include <span>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"
#include "hv/vcpu.h"
#include "x86/cpu_state.h"

namespace xkvm::kvm {

class Vm;

class Vcpu final : public hv::Vcpu {
public:
    static Result<std::unique_ptr<Vcpu>> create(Vm& vm, uint32_t id, UniqueFd fd);
    ~Vcpu() override;
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;

    uint32_t id() const override { return m_id; }
    Vm& vm() { return m_vm; }

    // One KVM_RUN: completes the previous exit, flushes dirty registers, decodes the new exit.
    hv::Exit& run() override;

    // Registers, fetched once per exit and written back before the next run when changed.
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
    // Introspection (vcpu_introspect.cpp): INT3 through guest debugging, WRMSR through the VM's
    // MSR filter, write limits as the MMIO writes of read-only memslots.
    Status set_intercepts(const hv::Intercepts& intercepts) override;
    Status finish_intercept(hv::InterceptFinish how) override;
    // KVM_TRANSLATE: KVM's own walk of the guest's tables.
    Result<uint64_t> translate(uint64_t linear) override;
    Result<uint32_t> tsc_khz() override;
    // The guest TSC is host TSC + offset (KVM_VCPU_TSC_OFFSET); false when KVM lacks the attribute.
    Result<bool> set_tsc_offset(uint64_t offset) override;

    void request_immediate_exit() override { __atomic_store_n(&m_run->immediate_exit, 1, __ATOMIC_SEQ_CST); }
    void clear_immediate_exit() override { __atomic_store_n(&m_run->immediate_exit, 0, __ATOMIC_SEQ_CST); }

private:
    Result<kvm_regs*> raw_regs();
    Result<kvm_sregs*> raw_sregs();
    Result<kvm_vcpu_events> events();
    Status set_events(const kvm_vcpu_events& ev);
    Result<uint32_t> run_once();
    void complete_exit();
    void decode_exit(uint32_t reason);
    hv::Exit& failed(std::string detail);
    // vcpu_introspect.cpp: an exit the monitor asked for becomes Introspect (true); a filtered
    // WRMSR this vCPU does not intercept is applied and the guest re-entered (false, *rerun).
    Result<bool> intercept_exit(uint32_t reason, bool* rerun);
    // Before the next KVM_RUN: carries out the monitor's answer. True when m_exit is already this
    // run's result (asked again, handed on as an ordinary exit, or Interrupted).
    Result<bool> finish_intercepted();
    Status complete_without_running();
    Status apply_guest_debug();
    Status inject_breakpoint();
    Vcpu(Vm& vm, uint32_t id, UniqueFd fd, kvm_run* run, size_t run_size)
        : m_vm(vm), m_id(id), m_fd(std::move(fd)), m_run(run), m_run_size(run_size) { }
    Status flush();
    Status recover_unsynced();
    void invalidate() { m_regs_valid = m_sregs_valid = false; }
    bool synced(uint32_t kind) const { return m_synced && (m_sync_kinds & kind); }

    Vm& m_vm;
    uint32_t m_id;
    UniqueFd m_fd;
    kvm_run* m_run;
    size_t m_run_size;

    // With KVM_CAP_SYNC_REGS the registers arrive in kvm_run on every exit and go back through
    // kvm_dirty_regs: no ioctl per access, which matters where each vCPU ioctl costs microseconds.
    uint32_t m_sync_kinds = 0;
    bool m_synced = false; // kvm_run holds this exit's registers (false before the first run)
    kvm_regs m_regs {};   // ioctl path; with sync, the copy of what was last written
    kvm_sregs m_sregs {};
    bool m_regs_valid = false, m_regs_dirty = false;
    bool m_sregs_valid = false, m_sregs_dirty = false;
    hv::Exit m_exit;

    hv::Intercepts m_intercepts;
    bool m_single_step = false;
    std::optional<hv::InterceptFinish> m_finish; // the answer to the pending Introspect exit
    uint64_t m_intercept_rip = 0;                // RIP at an intercepted WRMSR

    // The VM's run gate takes the vCPU out of KVM_RUN with this (immediate exit and a signal).
    std::function<void()> m_kick;
    pthread_t m_thread {};
    std::atomic<bool> m_gate_kicked { false };
};

} // namespace xkvm::kvm

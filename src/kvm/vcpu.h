// One KVM vCPU (the KVM backend's hv::Vcpu): its run structure, register access (cached per exit),
// interrupt/event state. Not thread-safe except request_immediate_exit(): only the vCPU's own
// thread touches the rest.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
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
};

} // namespace xkvm::kvm

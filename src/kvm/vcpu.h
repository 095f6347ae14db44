// One KVM vCPU: its run structure, register access (cached per exit), interrupt/event state.
// Not thread-safe except request_immediate_exit(): only the vCPU's own thread touches the rest.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <span>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"
#include "kvm/cpuid_table.h"
#include "x86/cpu_state.h"

namespace xkvm::kvm {

class Vm;

class Vcpu {
public:
    static Result<std::unique_ptr<Vcpu>> create(Vm& vm, uint32_t id, UniqueFd fd);
    ~Vcpu();
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;

    uint32_t id() const { return m_id; }
    Vm& vm() { return m_vm; }
    kvm_run& run_struct() { return *m_run; }

    // One KVM_RUN. Flushes dirty registers first. Returns the exit reason; an interrupted run (a
    // kick, or immediate_exit) is reported as KVM_EXIT_INTR.
    Result<uint32_t> run();

    // Registers, fetched once per exit and written back before the next run when marked dirty.
    Result<kvm_regs*> regs();
    void mark_regs_dirty() { m_regs_dirty = true; }
    Result<kvm_sregs*> sregs();
    void mark_sregs_dirty() { m_sregs_dirty = true; }

    // Architectural view, for code that must not know KVM's structures.
    Result<x86::CpuState> cpu_state();
    Status set_cpu_state(const x86::CpuState& state);
    Result<x86::PagingMode> paging_mode();

    Result<kvm_vcpu_events> events();
    Status set_events(const kvm_vcpu_events& ev);
    Result<uint32_t> mp_state();
    Status set_mp_state(uint32_t state);
    Result<kvm_lapic_state> lapic();
    Status set_lapic(const kvm_lapic_state& state);
    Result<uint64_t> get_msr(uint32_t index);
    Status set_msrs(std::span<const std::pair<uint32_t, uint64_t>> msrs);
    Status set_cpuid(const CpuidTable& table);
    Status set_single_step(bool on);
    Result<uint32_t> tsc_khz();
    // The guest TSC is host TSC + offset (KVM_VCPU_TSC_OFFSET); false when KVM lacks the attribute.
    Result<bool> set_tsc_offset(uint64_t offset);

    // Thread-safe: make the current or next KVM_RUN return at once.
    void request_immediate_exit() { __atomic_store_n(&m_run->immediate_exit, 1, __ATOMIC_SEQ_CST); }
    void clear_immediate_exit() { __atomic_store_n(&m_run->immediate_exit, 0, __ATOMIC_SEQ_CST); }

private:
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
};

} // namespace xkvm::kvm

// One virtual CPU, whichever backend runs it. Only the vCPU's own thread calls it, except
// request_immediate_exit(), which any thread may call.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "base/result.h"
#include "hv/cpuid_table.h"
#include "hv/exit.h"
#include "x86/cpu_state.h"

namespace xkvm::hv {

enum class MpState : uint8_t {
    Runnable,
    Halted,      // waits for an interrupt (HLT, or a VMM-requested halt while blocked)
    WaitForSipi, // an AP before INIT-SIPI
};

class Vcpu {
public:
    virtual ~Vcpu() = default;

    virtual uint32_t id() const = 0;

    // Runs the guest until the next exit. The exit (and the data buffers it points at) stays valid
    // until the next run(); a handler completes reads (port data, MSR values) in place.
    virtual Exit& run() = 0;

    virtual Result<x86::Regs> regs() = 0;
    virtual Status set_regs(const x86::Regs& regs) = 0;
    virtual Result<x86::CpuState> cpu_state() = 0;
    virtual Status set_cpu_state(const x86::CpuState& state) = 0;
    virtual Result<x86::PagingMode> paging_mode() = 0;

    virtual Result<MpState> mp_state() = 0;
    virtual Status set_mp_state(MpState state) = 0;

    // Delivers an external interrupt vector straight into the CPU (not through its LAPIC; the
    // guest does not EOI it) if it can take one now: false when interrupts are off, shadowed or
    // another event is being delivered.
    virtual Result<bool> try_inject_interrupt(uint8_t vector) = 0;

    virtual Result<uint64_t> get_msr(uint32_t index) = 0;
    virtual Status set_msrs(std::span<const std::pair<uint32_t, uint64_t>> msrs) = 0;
    virtual Status set_cpuid(const CpuidTable& table) = 0;
    virtual Status set_single_step(bool on) = 0;
    // Introspection (issue 10); backends without it answer ENOSYS.
    virtual Status set_intercepts(const Intercepts&) { return fail(ENOSYS, "intercepts are not supported by this backend"); }
    // After an `Exit::Kind::Introspect`, before the next run(): what happens to the instruction.
    virtual Status finish_intercept(InterceptFinish) { return fail(ENOSYS, "intercepts are not supported by this backend"); }
    // The guest-physical address `linear` maps to through the vCPU's current paging mode and page
    // tables, without faulting the guest; EFAULT when it does not translate. emu leaves no trace
    // (no A/D bits, no TLB fill); KVM walks with its own walker (KVM_TRANSLATE).
    virtual Result<uint64_t> translate(uint64_t) { return fail(ENOSYS, "translation is not supported by this backend"); }
    virtual Result<uint32_t> tsc_khz() = 0;
    // The guest TSC becomes host TSC + offset; false when the backend cannot apply offsets.
    virtual Result<bool> set_tsc_offset(uint64_t offset) = 0;

    // Guest instructions this vCPU has retired, where the backend counts them (the emulated CPU);
    // empty on KVM. Read it while the vCPU is parked or stopped.
    virtual std::optional<uint64_t> instructions_retired() const { return {}; }

    // Thread-safe: make the current or next run() return Interrupted at once.
    virtual void request_immediate_exit() = 0;
    virtual void clear_immediate_exit() = 0;
};

} // namespace xkvm::hv

// One emulated x86-64 CPU: an interpreter over EmuState. It runs on its vCPU's thread only, except
// request_stop() and raise_attention(), which any thread may call.
//
// (Public interface fixed for the emu backend; the private part and the implementation belong to
// the interpreter.)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "emu/cpu/bus.h"
#include "emu/cpu/cpu_exit.h"
#include "emu/cpu/cpu_state.h"

namespace xkvm::emu {

class CpuImpl;

// Instructions that leave as CpuExit::Kind::Introspect before they execute.
struct CpuIntercepts {
    bool breakpoints = false;  // INT3 (0xcc)
    uint8_t cr_writes = 0;     // bit n: writes to CRn (MOV; also LMSW and CLTS for CR0)
    bool descriptors = false;  // LGDT SGDT LIDT SIDT LLDT SLDT LTR STR
    std::vector<uint32_t> msr_writes; // WRMSR to these
};

// What happens to the instruction an Introspect exit stopped at, on the next run().
enum class InterceptFinish : uint8_t {
    Retry,   // runs again under the current limits and intercepts
    Execute, // runs once ignoring them (all of it, or a REP instruction up to its next yield)
    Skip,    // RIP moves past it as if it retired doing nothing (RF and the interrupt shadow
             // clear; no single-step trap or Debug exit)
};

class Cpu {
public:
    explicit Cpu(CpuBus& bus);
    ~Cpu();
    Cpu(const Cpu&) = delete;
    Cpu& operator=(const Cpu&) = delete;

    // The architectural state. Changing it from outside (the VMM setting registers) is allowed
    // between runs; call state_changed() after changing control registers, EFER or segments.
    EmuState& state();
    void state_changed();

    // Executes until an exit, or at most `max_instructions` instructions (Budget). A halted CPU
    // with nothing to deliver returns Halt at once; one waiting for SIPI returns Budget.
    // At each instruction boundary where an interrupt can be taken and attention was raised, the
    // CPU asks the bus for a vector and delivers it.
    CpuExit run(uint64_t max_instructions);

    // Completes the PortIn / MmioRead that the last run() returned with (the instruction is then
    // retired on the next run()); `data` little-endian in its low bytes.
    void complete_read(uint64_t data);
    // Completes a MsrRead (value) or MsrWrite; `fault` makes the instruction raise #GP(0) instead.
    void complete_msr(uint64_t value, bool fault);

    // Thread-safe. request_stop(): run() returns Budget at the next instruction boundary (a kick).
    // raise_attention(): an interrupt may be pending; the CPU asks the bus at the next boundary
    // where it can take one (and leaves the halted state if the bus has one).
    void request_stop();
    void raise_attention();

    // NMI, INIT and SIPI, from the backend's interrupt controllers (on the vCPU thread).
    void deliver_nmi();
    void init_reset();              // INIT: reset state, RunState::WaitForSipi (APs)
    void start_at_sipi(uint8_t vector); // SIPI: real mode at vector << 12

    // The translation cache must forget host pointers (the physmap changed).
    void flush_tlb();
    // A single-step trap after each instruction, reported as CpuExit::Kind::Debug (KVM_GUESTDBG).
    void set_single_step(bool on);
    // Introspection (on the vCPU thread). finish_intercept() is false unless the last run()
    // returned Introspect; without it the next run() retries the instruction.
    void set_intercepts(CpuIntercepts intercepts);
    bool finish_intercept(InterceptFinish how);
    // The guest-physical address `lin` maps to under the current paging mode, or nothing when it
    // does not translate; nothing in the guest changes (no A/D bits, CR2, TLB fill or limit check).
    std::optional<uint64_t> translate(uint64_t lin);

    uint64_t instructions_retired() const;

private:
    std::unique_ptr<CpuImpl> m_impl;
};

} // namespace xkvm::emu

// The emulated CPU's whole architectural state: x86::CpuState plus what only the emulator keeps
// (MSRs, debug registers, interrupt shadows, the run state).
#pragma once

#include <cstdint>

#include "x86/cpu_state.h"

namespace xkvm::emu {

// Segment registers in their encoding order (the ModRM/sreg field).
enum SegIndex : uint8_t { SegEs, SegCs, SegSs, SegDs, SegFs, SegGs, kSegCount };

enum class RunState : uint8_t {
    Running,
    Halted,     // HLT: waits for an interrupt, NMI, INIT
    WaitForSipi // an AP after INIT: waits for a SIPI
};

struct EmuMsrs {
    uint64_t star = 0, lstar = 0, cstar = 0, sfmask = 0;
    uint64_t kernel_gs_base = 0;
    uint64_t sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;
    uint64_t tsc_aux = 0;
    uint64_t pat = 0x0007040600070406ull;
    uint64_t misc_enable = 1; // fast strings
};

struct EmuState {
    uint64_t gpr[16] = {};
    uint64_t rip = 0;
    uint64_t rflags = x86::kRflagsReserved1;
    x86::Segment seg[kSegCount];
    x86::Segment tr, ldt;
    x86::DescriptorTable gdt, idt;
    uint64_t cr0 = 0x60000010, cr2 = 0, cr3 = 0, cr4 = 0, efer = 0;
    uint64_t xcr0 = 1;
    uint64_t dr[8] = { 0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400 };
    EmuMsrs msr;

    // Interrupts are inhibited for one instruction after STI (when IF was 0) and MOV/POP SS.
    bool interrupt_shadow = false;
    bool nmi_blocked = false; // from NMI delivery to the next IRET
    RunState run_state = RunState::Running;

    uint8_t cpl() const { return seg[SegCs].dpl; }
};

// Conversions to and from the backend-neutral view.
x86::CpuState to_cpu_state(const EmuState& st);
void apply_cpu_state(EmuState& st, const x86::CpuState& cs);

} // namespace xkvm::emu

// Xen's vm_event interface, version 7 (xen/include/public/vm_event.h), and the per-vCPU slot of
// seed 004: the layouts a monitor shares with us, byte for byte, so the logic of tools written for
// Xen carries over. Only what xkvm produces or reads is spelled out; the rest of each union is
// padding of the right size. Sizes and offsets are checked below and in abi_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xkvm::vmevent {

inline constexpr uint32_t kInterfaceVersion = 7;

// VM_EVENT_FLAG_* (request and response).
enum EventFlag : uint32_t {
    kFlagVcpuPaused = 1u << 0,       // request: the vCPU waits; response: let it go
    kFlagForeign = 1u << 1,
    kFlagEmulate = 1u << 2,          // response: run the instruction once despite the limits
    kFlagEmulateNoWrite = 1u << 3,
    kFlagToggleSinglestep = 1u << 4, // response: flip the vCPU's single-stepping
    kFlagSetEmulReadData = 1u << 5,
    kFlagDeny = 1u << 6,             // response: do not complete the register write
    kFlagAlternateP2m = 1u << 7,
    kFlagSetRegisters = 1u << 8,     // response: load the registers in data.regs.x86
    kFlagSetEmulInsnData = 1u << 9,
    kFlagGetNextInterrupt = 1u << 10,
    kFlagFastSinglestep = 1u << 11,
    kFlagNestedP2m = 1u << 12,
};

// VM_EVENT_REASON_*.
enum Reason : uint32_t {
    kReasonUnknown = 0,
    kReasonMemAccess = 1,
    kReasonMemSharing = 2,
    kReasonMemPaging = 3,
    kReasonWriteCtrlreg = 4,
    kReasonMovToMsr = 5,
    kReasonSoftwareBreakpoint = 6,
    kReasonSinglestep = 7,
    kReasonGuestRequest = 8,
    kReasonDebugException = 9,
    kReasonCpuid = 10,
    kReasonPrivilegedCall = 11,
    kReasonInterrupt = 12,
    kReasonDescriptorAccess = 13,
    kReasonEmulUnimplemented = 14,
};

// write_ctrlreg.index (VM_EVENT_X86_*): not the CR number.
enum CtrlReg : uint32_t { kCtrlCr0 = 0, kCtrlCr3 = 1, kCtrlCr4 = 2, kCtrlXcr0 = 3 };

// mem_access.flags (MEM_ACCESS_*).
enum MemAccessFlag : uint32_t {
    kMemR = 1u << 0,
    kMemW = 1u << 1,
    kMemX = 1u << 2,
    kMemGlaValid = 1u << 3,
    kMemFaultWithGla = 1u << 4,
    kMemFaultInGpt = 1u << 5,
};

// desc_access.descriptor (VM_EVENT_DESC_*).
enum DescTable : uint8_t { kDescIdtr = 1, kDescGdtr = 2, kDescLdtr = 3, kDescTr = 4 };

// xenmem_access_t (XENMEM_access_op): what a page allows.
enum XenmemAccess : uint32_t {
    kXenmemN = 0,
    kXenmemR = 1,
    kXenmemW = 2,
    kXenmemRw = 3,
    kXenmemX = 4,
    kXenmemRx = 5,
    kXenmemWx = 6,
    kXenmemRwx = 7,
    kXenmemRx2rw = 8, // rx until the first write, then rw
    kXenmemN2rwx = 9, // nothing until the first access, then everything
    kXenmemDefault = 10,
};

struct RegsX86 {
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rflags, dr6, dr7, rip;
    uint64_t cr0, cr2, cr3, cr4;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t msr_efer, msr_star, msr_lstar;
    uint64_t gdtr_base;
    uint64_t npt_base; // new in version 7
    uint32_t cs_base, ss_base, ds_base, es_base;
    uint64_t fs_base, gs_base;
    uint32_t cs, ss, ds, es, fs, gs; // limit in bits 0-19, attributes in bits 20-31
    uint64_t shadow_gs;
    uint16_t gdtr_limit;
    uint16_t cs_sel, ss_sel, ds_sel, es_sel, fs_sel, gs_sel;
    uint16_t pad;
};

struct MemAccess {
    uint64_t gfn;
    uint64_t offset;
    uint64_t gla; // valid with kMemGlaValid
    uint32_t flags;
    uint32_t pad;
};

struct WriteCtrlreg {
    uint32_t index; // CtrlReg
    uint32_t pad;
    uint64_t new_value;
    uint64_t old_value;
};

struct MovToMsr {
    uint64_t msr;
    uint64_t new_value;
    uint64_t old_value;
};

struct DebugEvent {
    uint64_t gfn;
    uint64_t pending_dbg;
    uint32_t insn_length;
    uint8_t type;
    uint8_t pad[3];
};

struct Singlestep {
    uint64_t gfn;
};

struct DescAccess {
    uint32_t instr_info;
    uint32_t pad1;
    uint64_t exit_qualification;
    uint8_t descriptor; // DescTable
    uint8_t is_write;
    uint8_t pad[6];
};

union EventDetail {
    MemAccess mem_access;
    WriteCtrlreg write_ctrlreg;
    MovToMsr mov_to_msr;
    DescAccess desc_access;
    Singlestep singlestep;
    DebugEvent software_breakpoint;
    DebugEvent debug_exception;
};

// vm_event_request_t and vm_event_response_t (one layout for both).
struct Event {
    uint32_t version; // kInterfaceVersion
    uint32_t flags;   // EventFlag
    uint32_t reason;  // Reason
    uint32_t vcpu_id;
    uint16_t altp2m_idx;
    uint16_t pad[3];
    EventDetail u;
    union {
        RegsX86 x86;
        uint8_t emul[sizeof(RegsX86)];
    } regs;
};

// VM_EVENT_SLOT_STATE_*: one slot per vCPU, for its synchronous events (seed 004).
enum SlotState : uint32_t { kSlotIdle = 0, kSlotSubmit = 1, kSlotFinish = 2 };

struct Slot {
    uint32_t state; // SlotState
    union {
        Event req;
        Event rsp;
    } u;
};

// The issue text says 400-byte entries; Xen's version-7 entry is 392 bytes (56 of header and
// event detail, 336 of registers). 400 is the size of a slot: its state word, padded to 8, first.
static_assert(sizeof(RegsX86) == 336);
static_assert(sizeof(EventDetail) == 32);
static_assert(offsetof(Event, u) == 24);
static_assert(offsetof(Event, regs) == 56);
static_assert(sizeof(Event) == 392);
static_assert(offsetof(RegsX86, npt_base) == 248);
static_assert(offsetof(RegsX86, shadow_gs) == 312);
static_assert(offsetof(Slot, u) == 8);
static_assert(sizeof(Slot) == 400);

} // namespace xkvm::vmevent

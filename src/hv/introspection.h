// What a backend offers an introspection agent (vm_event, issue 10): per-page access limits, and
// instructions that leave the guest before they execute so that a monitor can look at them first.
// The vm_event layer (src/vmevent/) turns these into Xen's requests; this header knows nothing of
// Xen's layouts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/result.h"
#include "memory/physmap.h"

namespace xkvm::hv {

// The accesses a page allows (bits): a page allowing all three is unrestricted.
enum PageAccess : uint8_t {
    kAccessNone = 0,
    kAccessRead = 1u << 0,
    kAccessWrite = 1u << 1,
    kAccessExec = 1u << 2,
    kAccessAll = kAccessRead | kAccessWrite | kAccessExec,
};

// Which instructions a vCPU reports as an `Exit::Kind::Introspect` exit before executing them.
struct Intercepts {
    bool breakpoints = false;       // INT3 (0xcc) exits instead of raising #BP
    uint8_t cr_writes = 0;          // bit n set: MOV to CRn exits (n in 0, 3, 4)
    bool descriptor_access = false; // LGDT SGDT LIDT SIDT LLDT SLDT LTR STR exit
    std::vector<uint32_t> msr_writes; // WRMSR to these indices exits, known MSRs too

    bool operator==(const Intercepts&) const = default;
};

// What one backend can report, so the monitor can refuse what it would never see.
struct IntrospectionCaps {
    uint8_t page_access = 0; // which kAccess* bits the backend can take away
    bool breakpoints = false;
    uint8_t cr_writes = 0;
    bool descriptor_access = false;
    bool msr_writes = false;
    bool single_step = false;
};

// The payload of `Exit::Kind::Introspect`. The instruction has not executed: RIP points at it and
// no state changed. After the monitor answers, `Vcpu::finish_intercept()` says what happens to it.
struct IntrospectExit {
    enum class What : uint8_t {
        MemAccess,  // an access a page's limits refuse
        Breakpoint, // INT3
        CrWrite,    // MOV to CRn
        MsrWrite,   // WRMSR
        Descriptor, // a descriptor-table instruction
    };
    What what = What::MemAccess;
    uint8_t insn_len = 0; // bytes of the intercepted instruction (for skipping it)

    // MemAccess
    uint64_t gpa = 0;
    uint64_t gla = 0;
    bool gla_valid = false;
    bool in_walk = false; // the access was the page walk's for `gla` (to a page-table entry at `gpa`)
    uint8_t access = 0; // the kAccess* bit that was refused

    // CrWrite (index = n of CRn) and MsrWrite (index = MSR)
    uint32_t index = 0;
    uint64_t old_value = 0;
    uint64_t new_value = 0;

    // Descriptor
    enum class Table : uint8_t { Idtr, Gdtr, Ldtr, Tr };
    Table table = Table::Idtr;
    bool table_write = false; // a load (LxDT/LTR) rather than a store (SxDT/STR)
};

// How an intercepted instruction is finished on the next run().
enum class InterceptFinish : uint8_t {
    Retry,   // run it again under the current limits (it exits again unless the monitor lifted them)
    Execute, // run it once ignoring the limits and intercepts (Xen's "emulate")
    Skip,    // do not run it: RIP moves past it (Xen's "deny" for register writes)
};

// What every backend's Vm::set_page_access checks first: known bits, and a page-aligned range below
// 2^52 that is guest RAM throughout (EINVAL otherwise).
Status check_page_access_request(const memory::Physmap* physmap, memory::Gpa gpa, uint64_t size, uint8_t allowed);

} // namespace xkvm::hv

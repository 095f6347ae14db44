// Why Cpu::run() returned: an access or event the CPU does not handle itself.
#pragma once

#include <cstdint>

namespace xkvm::emu {

struct CpuExit {
    enum class Kind : uint8_t {
        Budget,      // ran its instruction budget, or request_stop() was called
        PortIn,      // IN/INS: complete with Cpu::complete_read() before the next run
        PortOut,     // OUT/OUTS: already retired; the VMM consumes `data`
        MmioRead,    // a load from a non-RAM page the bus did not handle: complete_read()
        MmioWrite,   // a store to one: already retired
        MsrRead,     // RDMSR the CPU and bus do not know: complete_msr()
        MsrWrite,    // WRMSR likewise: complete_msr() (fault or not); `value` holds the data
        Hypercall,   // VMCALL/VMMCALL, already retired (RIP past it): the VMM reads and sets GPRs
        Halt,        // HLT retired; the CPU is in the halted state until an interrupt (or NMI/INIT)
        TripleFault, // a fault while delivering #DF: the CPU stops, as a KVM shutdown exit
        Debug,       // a single-step trap was requested by the VMM (set_single_step)
        Introspect,  // a refused access or an intercepted instruction, not executed: `introspect`
    };
    Kind kind = Kind::Budget;
    uint16_t port = 0;  // port I/O
    uint64_t gpa = 0;   // MMIO
    uint8_t size = 0;   // bytes of one access (1, 2, 4, 8)
    uint32_t msr = 0;   // MSR index
    uint64_t value = 0; // OUT / MMIO write data (little-endian in the low `size` bytes); WRMSR data

    // Introspect: RIP is at the instruction and nothing of it committed beyond what a fault at the
    // same point would leave (REP elements already done). Cpu::finish_intercept() says what next.
    struct Introspect {
        enum class What : uint8_t { MemAccess, Breakpoint, CrWrite, MsrWrite, Descriptor };
        enum class Table : uint8_t { Idtr, Gdtr, Ldtr, Tr };
        What what = What::MemAccess;
        uint8_t insn_len = 0;   // 0 where the instruction could not be fetched
        uint8_t access = 0;     // MemAccess: the kPage* bit refused (`gpa` holds the address)
        bool lin_valid = false;
        bool in_walk = false;   // MemAccess: a page-table entry the walk for `lin` reads or updates
        uint64_t lin = 0;
        uint32_t index = 0;     // CRn or MSR
        uint64_t old_value = 0; // an MSR the CPU cannot read (the VMM's) reports 0
        uint64_t new_value = 0;
        Table table = Table::Idtr;
        bool table_write = false; // LxDT/LLDT/LTR
    };
    Introspect introspect{};
};

} // namespace xkvm::emu

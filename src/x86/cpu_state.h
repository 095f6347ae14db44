// Architectural x86 CPU state, independent of KVM's structures, so layers above the KVM layer (the
// Xen ABI's VCPUOP_initialise, the loader's boot state) can describe registers without including it.
#pragma once

#include <cstdint>

namespace xkvm::x86 {

inline constexpr uint64_t kCr0Pe = 1ull << 0;
inline constexpr uint64_t kCr0Et = 1ull << 4;
inline constexpr uint64_t kCr0Wp = 1ull << 16;
inline constexpr uint64_t kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr4Pse = 1ull << 4;
inline constexpr uint64_t kCr4Pae = 1ull << 5;
inline constexpr uint64_t kCr4La57 = 1ull << 12;
inline constexpr uint64_t kEferLme = 1ull << 8;
inline constexpr uint64_t kEferLma = 1ull << 10;
inline constexpr uint64_t kEferNx = 1ull << 11;
inline constexpr uint64_t kRflagsReserved1 = 1ull << 1;
inline constexpr uint64_t kRflagsIf = 1ull << 9;

enum Gpr { Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15 };

// The registers every exit may need: general-purpose, RIP and RFLAGS.
struct Regs {
    uint64_t gpr[16] = {};
    uint64_t rip = 0;
    uint64_t rflags = kRflagsReserved1;
};

struct Segment {
    uint64_t base = 0;
    uint32_t limit = 0;
    uint16_t selector = 0;
    uint8_t type = 0;
    bool present = false;
    uint8_t dpl = 0;
    bool db = false;
    bool s = false;
    bool l = false;
    bool g = false;
    bool avl = false;
    bool unusable = false;
};

struct DescriptorTable {
    uint64_t base = 0;
    uint16_t limit = 0;
};

struct CpuState {
    uint64_t gpr[16] = {};
    uint64_t rip = 0;
    uint64_t rflags = kRflagsReserved1;
    Segment cs, ds, es, fs, gs, ss, tr, ldt;
    DescriptorTable gdt, idt;
    uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, efer = 0;
};

// What address translation and privilege checks depend on.
struct PagingMode {
    uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
    uint8_t cpl = 0;
    bool cs_long = false;

    bool paging() const { return cr0 & kCr0Pg; }
    bool long_mode() const { return efer & kEferLma; }
    // 64-bit code (long mode and CS.L): the Xen 64-bit calling convention applies.
    bool is_64bit_code() const { return long_mode() && cs_long; }
};

// The state the PVH and HVM-firmware boot protocols enter with: 32-bit flat protected mode, paging
// off, interrupts off, a 32-bit TSS with base 0 and limit 0x67.
CpuState flat_protected_mode_32(uint32_t eip, uint32_t ebx);

// The 64-bit flat state VCPUOP_initialise's 64-bit HVM context implies.
CpuState flat_long_mode_64();

} // namespace xkvm::x86

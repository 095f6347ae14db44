// The host side of the ALU differential tests: each wrapper loads the given flags with POPF, runs
// one instruction on register operands and captures the flags with PUSHF. The stack pointer is
// first moved past the red zone, where the compiler may keep live data.
#pragma once

#include <cstdint>

#include "emu/cpu/alu_diff_util.h"

namespace xkvm::emu::alu::difftest {

#define XKVM_HOST_PRE "lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t"
#define XKVM_HOST_POST "\n\tpushfq\n\tpop %[f]\n\tlea 128(%%rsp), %%rsp"

// One template per instruction shape: `body8` .. `body64` are the same instruction with the size
// suffix and operand modifiers of each width (%b %w %k %q). [r] is the in/out operand.
#define XKVM_HOST_SIZED(T, OUT, IN, body8, body16, body32, body64)                               \
    if constexpr (sizeof(T) == 1)                                                                 \
        asm volatile(XKVM_HOST_PRE body8 XKVM_HOST_POST : OUT : IN : "cc");                       \
    else if constexpr (sizeof(T) == 2)                                                            \
        asm volatile(XKVM_HOST_PRE body16 XKVM_HOST_POST : OUT : IN : "cc");                      \
    else if constexpr (sizeof(T) == 4)                                                            \
        asm volatile(XKVM_HOST_PRE body32 XKVM_HOST_POST : OUT : IN : "cc");                      \
    else                                                                                          \
        asm volatile(XKVM_HOST_PRE body64 XKVM_HOST_POST : OUT : IN : "cc")

#define XKVM_COMMA ,

// dst = dst OP src: the group-1 ops, IMUL r, r/m, BT*, BSF/BSR, POPCNT, LZCNT, TZCNT.
#define XKVM_HOST_BINARY(fn, mn)                                                                  \
    template<typename T> Outcome fn(T a, T b, uint64_t flags)                                     \
    {                                                                                             \
        uint64_t r = a, s = b;                                                                    \
        XKVM_HOST_SIZED(T, [r] "+r"(r) XKVM_COMMA[f] "+r"(flags), [s] "r"(s),                     \
                        mn "b %b[s], %b[r]", mn "w %w[s], %w[r]", mn "l %k[s], %k[r]",             \
                        mn "q %q[s], %q[r]");                                                     \
        return { uint64_t(T(r)), 0, flags };                                                      \
    }

#define XKVM_HOST_UNARY(fn, mn)                                                                   \
    template<typename T> Outcome fn(T a, uint64_t flags)                                          \
    {                                                                                             \
        uint64_t r = a;                                                                           \
        XKVM_HOST_SIZED(T, [r] "+r"(r) XKVM_COMMA[f] "+r"(flags), "i"(0), mn "b %b[r]",            \
                        mn "w %w[r]", mn "l %k[r]", mn "q %q[r]");                                \
        return { uint64_t(T(r)), 0, flags };                                                      \
    }

#define XKVM_HOST_SHIFT(fn, mn)                                                                   \
    template<typename T> Outcome fn(T a, uint8_t count, uint64_t flags)                           \
    {                                                                                             \
        uint64_t r = a, c = count;                                                                \
        XKVM_HOST_SIZED(T, [r] "+r"(r) XKVM_COMMA[f] "+r"(flags), [c] "c"(c),                     \
                        mn "b %%cl, %b[r]", mn "w %%cl, %w[r]", mn "l %%cl, %k[r]",                \
                        mn "q %%cl, %q[r]");                                                      \
        return { uint64_t(T(r)), 0, flags };                                                      \
    }

#define XKVM_HOST_DOUBLE_SHIFT(fn, mn)                                                            \
    template<typename T> Outcome fn(T dst, T src, uint8_t count, uint64_t flags)                  \
    {                                                                                             \
        uint64_t r = dst, s = src, c = count;                                                     \
        XKVM_HOST_SIZED(T, [r] "+r"(r) XKVM_COMMA[f] "+r"(flags),                                 \
                        [s] "r"(s) XKVM_COMMA[c] "c"(c), "ud2", mn "w %%cl, %w[s], %w[r]",         \
                        mn "l %%cl, %k[s], %k[r]", mn "q %%cl, %q[s], %q[r]");                    \
        return { uint64_t(T(r)), 0, flags };                                                      \
    }

// MUL/IMUL r/m (8-bit: AX = AL * src; wider: rDX:rAX = rAX * src) and DIV/IDIV r/m (8-bit:
// AL, AH = AX / src; wider: rAX, rDX = rDX:rAX / src).
#define XKVM_HOST_ACC(fn, mn)                                                                     \
    template<typename T> Outcome fn(T hi, T lo, T src, uint64_t flags)                            \
    {                                                                                             \
        uint64_t ax = sizeof(T) == 1 ? uint64_t(hi) << 8 | lo : lo, dx = hi, s = src;             \
        XKVM_HOST_SIZED(T, "+a"(ax) XKVM_COMMA "+d"(dx) XKVM_COMMA[f] "+r"(flags), [s] "r"(s),     \
                        mn "b %b[s]", mn "w %w[s]", mn "l %k[s]", mn "q %q[s]");                   \
        if constexpr (sizeof(T) == 1)                                                             \
            return { ax & 0xff, (ax >> 8) & 0xff, flags };                                        \
        return { uint64_t(T(ax)), uint64_t(T(dx)), flags };                                       \
    }

XKVM_HOST_BINARY(host_add, "add")
XKVM_HOST_BINARY(host_or, "or")
XKVM_HOST_BINARY(host_adc, "adc")
XKVM_HOST_BINARY(host_sbb, "sbb")
XKVM_HOST_BINARY(host_and, "and")
XKVM_HOST_BINARY(host_sub, "sub")
XKVM_HOST_BINARY(host_xor, "xor")
XKVM_HOST_BINARY(host_cmp, "cmp")
XKVM_HOST_BINARY(host_imul2, "imul")
XKVM_HOST_BINARY(host_bt, "bt")
XKVM_HOST_BINARY(host_bts, "bts")
XKVM_HOST_BINARY(host_btr, "btr")
XKVM_HOST_BINARY(host_btc, "btc")
XKVM_HOST_BINARY(host_bsf, "bsf")
XKVM_HOST_BINARY(host_bsr, "bsr")
XKVM_HOST_BINARY(host_popcnt, "popcnt")
XKVM_HOST_BINARY(host_lzcnt, "lzcnt")
XKVM_HOST_BINARY(host_tzcnt, "tzcnt")

XKVM_HOST_UNARY(host_inc, "inc")
XKVM_HOST_UNARY(host_dec, "dec")
XKVM_HOST_UNARY(host_neg, "neg")
XKVM_HOST_UNARY(host_not, "not")

XKVM_HOST_SHIFT(host_rol, "rol")
XKVM_HOST_SHIFT(host_ror, "ror")
XKVM_HOST_SHIFT(host_rcl, "rcl")
XKVM_HOST_SHIFT(host_rcr, "rcr")
XKVM_HOST_SHIFT(host_shl, "shl")
XKVM_HOST_SHIFT(host_shr, "shr")
XKVM_HOST_SHIFT(host_sar, "sar")

XKVM_HOST_DOUBLE_SHIFT(host_shld, "shld")
XKVM_HOST_DOUBLE_SHIFT(host_shrd, "shrd")

XKVM_HOST_ACC(host_mul, "mul")
XKVM_HOST_ACC(host_imul1, "imul")
XKVM_HOST_ACC(host_div, "div")
XKVM_HOST_ACC(host_idiv, "idiv")

// IMUL r, r/m, imm: the immediate is part of the instruction, so it is a template argument.
template<typename T, int32_t kImm> Outcome host_imul3(T src, uint64_t flags)
{
    uint64_t r = 0, s = src;
    XKVM_HOST_SIZED(T, [r] "+r"(r) XKVM_COMMA[f] "+r"(flags), [s] "r"(s) XKVM_COMMA[i] "i"(kImm),
                    "ud2", "imulw %[i], %w[s], %w[r]", "imull %[i], %k[s], %k[r]",
                    "imulq %[i], %q[s], %q[r]");
    return { uint64_t(T(r)), 0, flags };
}

// BSWAP r; the 16-bit form (66 0F C8: BSWAP AX) is undefined and spelled out in bytes.
template<typename T> uint64_t host_bswap(T v)
{
    uint64_t r = v, flags = 2;
    XKVM_HOST_SIZED(T, "+a"(r) XKVM_COMMA[f] "+r"(flags), "i"(0), "nop",
                    ".byte 0x66, 0x0f, 0xc8", "bswapl %k0", "bswapq %q0");
    return T(r);
}

// SETcc for one condition code.
using HostSetcc = uint64_t (*)(uint64_t flags);
#define XKVM_HOST_SETCC(cc)                                                                       \
    [](uint64_t flags) -> uint64_t {                                                              \
        uint64_t r = 0;                                                                           \
        asm volatile(XKVM_HOST_PRE "set" cc " %b[r]" XKVM_HOST_POST                               \
                     : [r] "+r"(r), [f] "+r"(flags)::"cc");                                       \
        return r & 0xff;                                                                          \
    }
inline const HostSetcc kHostSetcc[16] = {
    XKVM_HOST_SETCC("o"),  XKVM_HOST_SETCC("no"), XKVM_HOST_SETCC("b"),  XKVM_HOST_SETCC("ae"),
    XKVM_HOST_SETCC("e"),  XKVM_HOST_SETCC("ne"), XKVM_HOST_SETCC("be"), XKVM_HOST_SETCC("a"),
    XKVM_HOST_SETCC("s"),  XKVM_HOST_SETCC("ns"), XKVM_HOST_SETCC("p"),  XKVM_HOST_SETCC("np"),
    XKVM_HOST_SETCC("l"),  XKVM_HOST_SETCC("ge"), XKVM_HOST_SETCC("le"), XKVM_HOST_SETCC("g"),
};

} // namespace xkvm::emu::alu::difftest

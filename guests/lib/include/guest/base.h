/* Basic types and helpers for freestanding guests (gcc's freestanding headers only). */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/arch.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096UL
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define GUEST_BITS ((int)sizeof(long) * 8)

#define GUEST_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define GUEST_PAGE_ALIGNED __attribute__((aligned(4096)))
/* Memory the boot code does not zero (stacks, pages that get overwritten or remapped). */
#define GUEST_NOINIT __attribute__((section(".noinit")))

#define READ_ONCE(x) (*(const volatile __typeof__(x)*)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x)*)&(x) = (v))

/* Compiler barrier; on x86 it orders load/load and store/store, enough for shared rings. */
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
#define rmb() barrier()
#define wmb() barrier()
/* Full barrier (store/load) without SSE2's mfence. */
static inline void mb(void)
{
#if defined(__x86_64__)
    __asm__ volatile("lock addl $0, -4(%%rsp)" ::: "memory", "cc");
#else
    __asm__ volatile("lock addl $0, -4(%%esp)" ::: "memory", "cc");
#endif
}

/* n / d with the remainder in *rem, without libgcc (two divl on 32-bit). */
static inline uint64_t div_u64_rem(uint64_t n, uint32_t d, uint32_t* rem)
{
#if defined(__x86_64__)
    *rem = (uint32_t)(n % d);
    return n / d;
#else
    uint32_t hi = (uint32_t)(n >> 32), lo = (uint32_t)n, qhi = 0, qlo, r;
    if (hi >= d) {
        qhi = hi / d;
        hi %= d;
    }
    __asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
    *rem = r;
    return ((uint64_t)qhi << 32) | qlo;
#endif
}

/* 64-bit division helpers gcc calls on i386 (libgcc is not available for -m32 here). */
#include "guest/base.h"

#if !defined(__x86_64__)
uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t* rem);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t n, int64_t d);
int64_t __moddi3(int64_t n, int64_t d);

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t* rem)
{
    if (d == 0) {
        __asm__ volatile("ud2"); /* division by zero: fault like the hardware would */
        __builtin_unreachable();
    }
    if ((d >> 32) == 0) { /* the common case: two divl */
        uint32_t r;
        uint64_t q = div_u64_rem(n, (uint32_t)d, &r);
        if (rem)
            *rem = r;
        return q;
    }
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) { /* divisor >= 2^32: at most 32 quotient bits, shift-subtract */
        r = (r << 1) | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ULL << i;
        }
    }
    if (rem)
        *rem = r;
    return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d) { return __udivmoddi4(n, d, NULL); }

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    __udivmoddi4(n, d, &r);
    return r;
}

int64_t __divdi3(int64_t n, int64_t d)
{
    uint64_t q = __udivmoddi4(n < 0 ? 0 - (uint64_t)n : (uint64_t)n, d < 0 ? 0 - (uint64_t)d : (uint64_t)d, NULL);
    return (n < 0) != (d < 0) ? (int64_t)(0 - q) : (int64_t)q;
}

int64_t __moddi3(int64_t n, int64_t d)
{
    uint64_t r;
    __udivmoddi4(n < 0 ? 0 - (uint64_t)n : (uint64_t)n, d < 0 ? 0 - (uint64_t)d : (uint64_t)d, &r);
    return n < 0 ? (int64_t)(0 - r) : (int64_t)r;
}
#endif

/* Xen hypercalls through the hypercall page: hypercall N is `call page + N*32`, arguments in
 * rdi rsi rdx r10 r8 (64-bit) or ebx ecx edx esi edi (32-bit), result in rax/eax (negative errno).
 * Pointers are passed through untouched so tests can hand in bad ones. CPL0 only. Before
 * xen_setup_hypercall_page() every stub returns -XEN_ENOSYS. */
#pragma once
#include "guest/base.h"
#include "xen/abi/xen.h"

extern uint8_t xen_hypercall_page[4096];

#if defined(__x86_64__)
#define XG_HCALL_CLOBBERS "rcx", "r9", "r11", "memory", "cc"
#define XG_HCALL(nr, a1, a2, a3, a4, a5)                                                                     \
    ({                                                                                                        \
        long ret_;                                                                                            \
        unsigned long d_ = (unsigned long)(a1), s_ = (unsigned long)(a2), x_ = (unsigned long)(a3);           \
        register unsigned long r10_ __asm__("r10") = (unsigned long)(a4);                                     \
        register unsigned long r8_ __asm__("r8") = (unsigned long)(a5);                                       \
        __asm__ volatile("call xen_hypercall_page + %c[off]"                                                  \
                         : "=a"(ret_), "+D"(d_), "+S"(s_), "+d"(x_), "+r"(r10_), "+r"(r8_)                    \
                         : [off] "i"((nr) * XEN_HYPERCALL_STUB_SIZE)                                          \
                         : XG_HCALL_CLOBBERS);                                                                \
        ret_;                                                                                                 \
    })
#else
#define XG_HCALL(nr, a1, a2, a3, a4, a5)                                                                     \
    ({                                                                                                        \
        long ret_;                                                                                            \
        unsigned long b_ = (unsigned long)(a1), c_ = (unsigned long)(a2), d_ = (unsigned long)(a3);           \
        unsigned long s_ = (unsigned long)(a4), D_ = (unsigned long)(a5);                                     \
        __asm__ volatile("call xen_hypercall_page + %c[off]"                                                  \
                         : "=a"(ret_), "+b"(b_), "+c"(c_), "+d"(d_), "+S"(s_), "+D"(D_)                       \
                         : [off] "i"((nr) * XEN_HYPERCALL_STUB_SIZE)                                          \
                         : "memory", "cc");                                                                   \
        ret_;                                                                                                 \
    })
#endif

/* Any hypercall number, including ones Xen does not implement (nr >= 128 returns -XEN_ENOSYS
 * without calling: it would be outside the page). */
long xen_hypercall(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
                   unsigned long a5);

static inline long hypercall_xen_version(int cmd, void* arg)
{
    return XG_HCALL(XEN_HYPERCALL_xen_version, cmd, arg, 0, 0, 0);
}
static inline long hypercall_console_io(int cmd, unsigned count, const void* buf)
{
    return XG_HCALL(XEN_HYPERCALL_console_io, cmd, count, buf, 0, 0);
}
static inline long hypercall_sched_op(int cmd, void* arg)
{
    return XG_HCALL(XEN_HYPERCALL_sched_op, cmd, arg, 0, 0, 0);
}
static inline long hypercall_hvm_op(unsigned op, void* arg)
{
    return XG_HCALL(XEN_HYPERCALL_hvm_op, op, arg, 0, 0, 0);
}
static inline long hypercall_memory_op(unsigned cmd, void* arg)
{
    return XG_HCALL(XEN_HYPERCALL_memory_op, cmd, arg, 0, 0, 0);
}
static inline long hypercall_vcpu_op(int cmd, unsigned vcpu, void* arg)
{
    return XG_HCALL(XEN_HYPERCALL_vcpu_op, cmd, vcpu, arg, 0, 0);
}
static inline long hypercall_event_channel_op(int cmd, void* arg)
{
    return XG_HCALL(XEN_HYPERCALL_event_channel_op, cmd, arg, 0, 0, 0);
}

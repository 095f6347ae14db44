/* Thin wrappers around privileged and I/O instructions. */
#pragma once
#include "guest/base.h"

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
/* One string I/O instruction for the whole buffer. */
static inline void outsb(uint16_t port, const void* buf, size_t n)
{
    __asm__ volatile("rep outsb" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};
static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#define GUEST_CR_ACCESSORS(n)                                                                                  \
    static inline unsigned long read_cr##n(void)                                                              \
    {                                                                                                         \
        unsigned long v;                                                                                      \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                                     \
        return v;                                                                                             \
    }                                                                                                         \
    static inline void write_cr##n(unsigned long v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
GUEST_CR_ACCESSORS(0)
GUEST_CR_ACCESSORS(2)
GUEST_CR_ACCESSORS(3)
GUEST_CR_ACCESSORS(4)
#undef GUEST_CR_ACCESSORS

static inline unsigned long read_flags(void)
{
    unsigned long f;
    __asm__ volatile("pushf; pop %0" : "=r"(f)::"memory");
    return f;
}
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline bool irqs_enabled(void) { return (read_flags() & EFLAGS_IF) != 0; }
/* Returns the old flags for irq_restore(). */
static inline unsigned long irq_save(void)
{
    unsigned long f = read_flags();
    irq_disable();
    return f;
}
static inline void irq_restore(unsigned long flags)
{
    if (flags & EFLAGS_IF)
        irq_enable();
}
/* hlt with whatever IF is; with IF clear only NMI/INIT wake the vCPU. */
static inline void cpu_halt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* sti;hlt: the interrupt shadow of sti means no interrupt slips in between; returns after one. */
static inline void cpu_wait_for_interrupt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void invlpg(const void* va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }
/* TSC rate (Xen's CPUID time leaf, else CPUID 0x15/0x16, else 2 GHz) and time since reset from it. */
uint32_t guest_tsc_khz(void);
uint64_t guest_time_us(void);
void guest_udelay(uint64_t us);

static inline unsigned cpu_cpl(void)
{
    unsigned short cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3;
}

/* Secondary vCPUs, per-CPU data, and the small synchronisation kit tests need across vCPUs.
 *
 * Every CPU has its own GDT, TSS, #DF stack, kernel and CPL3 stacks and a struct cpu_local reached
 * through GS (so smp_cpu_id() works at CPL0 and CPL3); the IDT and its handlers are shared. CPU n is
 * vCPU n and has LAPIC id n. APs are started either with VCPUOP_initialise (HVM context, 64-bit or
 * 32-bit flat) + VCPUOP_up, or with INIT-SIPI-SIPI through the LAPIC into a real-mode trampoline at
 * SMP_TRAMPOLINE_ADDR. A started AP idles in `sti; hlt` and runs the work smp_start_cpu() gives it.
 *
 * Waiting is never a bare spin: smp_wait() and cpu_wait_until() halt between checks and arm the
 * LAPIC timer (vector SMP_TICK_VECTOR) so a timeout is noticed; CPL0 spinning costs a host core here. */
#pragma once
#include "guest/base.h"

#define SMP_MAX_CPUS 8
/* LAPIC vectors the library owns (tests may use 0x20-0xdf freely). */
#define SMP_WAKE_VECTOR 0xf0 /* "look at your work / done flags" */
#define SMP_TICK_VECTOR 0xf1 /* the LAPIC timer of timed waits */
#define SMP_SPURIOUS_VECTOR 0xff

struct vcpu_info;

struct cpu_local {
    /* Read by assembly at fixed offsets (guest/arch.h CPU_LOCAL_*). */
    struct cpu_local* self;
    unsigned long id;
    void* tss;
    unsigned long user_saved_sp;
    unsigned long user_stack_top;
    /* C only. */
    char* kstack_bottom;
    char* kstack_top;
    char* user_stack_bottom;
    struct vcpu_info* vcpu_info; /* where this vCPU's vcpu_info is (guest/evtchn.h) */
    volatile bool online;
    /* Work handed over by smp_start_cpu(). */
    long (*volatile work_fn)(void* arg);
    void* volatile work_arg;
    volatile long work_result;
    volatile unsigned work_seq, work_done_seq;
    volatile unsigned work_requester;
    /* Upcall statistics (guest/evtchn.h). */
    volatile unsigned long upcalls;
};

enum smp_boot_method {
    SMP_BOOT_VCPUOP = 1, /* VCPUOP_initialise (vcpu_hvm_context) + VCPUOP_up */
    SMP_BOOT_SIPI = 2,   /* INIT, SIPI, SIPI through the LAPIC ICR */
};

static inline struct cpu_local* this_cpu(void)
{
    struct cpu_local* c;
    __asm__ volatile("mov %%gs:%c1, %0" : "=r"(c) : "i"(CPU_LOCAL_SELF));
    return c;
}
static inline unsigned smp_cpu_id(void)
{
    unsigned long id;
    __asm__ volatile("mov %%gs:%c1, %0" : "=r"(id) : "i"(CPU_LOCAL_ID));
    return (unsigned)id;
}
struct cpu_local* smp_cpu(unsigned id); /* NULL beyond SMP_MAX_CPUS */
/* Enables the BSP's LAPIC with the library's vectors (APs do it when they start). Needed before the
 * BSP takes LAPIC-delivered interrupts (per-vCPU upcall vector); done by the first wait too. */
void smp_init(void);

/* vCPUs the domain has (VCPUOP_is_up until -ENOENT, at most SMP_MAX_CPUS). */
unsigned smp_vcpu_count(void);
bool smp_cpu_online(unsigned id);
/* Brings vCPU `id` up and waits until it runs library code (at most timeout_us). 0 or -errno
 * (-XEN_EEXIST when it is online already, -XEN_ETIMEDOUT when it never showed up). */
int smp_boot_cpu(unsigned id, enum smp_boot_method how, uint64_t timeout_us);
/* Runs fn(arg) on CPU `id` (booting it with VCPUOP if needed); returns at once. -XEN_EBUSY while the
 * previous work there has not finished. id 0 is refused (-XEN_EINVAL): the BSP runs the test. */
int smp_start_cpu(unsigned id, long (*fn)(void* arg), void* arg);
/* Waits for that work; its result, or -XEN_ETIMEDOUT. */
long smp_wait(unsigned id, uint64_t timeout_us);
/* Runs fn on `id`, the calling CPU included, and waits (timeout for other CPUs). */
long smp_run_on(unsigned id, long (*fn)(void* arg), void* arg, uint64_t timeout_us);

/* Halts until cond(arg) holds (checked with interrupts off, before every halt) or timeout_us passed;
 * interrupts are on while halted, so handlers run. Returns cond's last value. */
bool cpu_wait_until(bool (*cond)(void* arg), void* arg, uint64_t timeout_us);
/* Fixed IPI to another CPU (LAPIC id = CPU id). */
void lapic_send_ipi(unsigned cpu, uint8_t vector);
void lapic_timer_oneshot_us(uint32_t us);
void lapic_timer_stop(void);

/* Atomics and a spinlock (lock-prefixed integer instructions: the emulator runs them). */
static inline unsigned long atomic_add_return(volatile unsigned long* p, unsigned long v)
{
    return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
}
static inline unsigned long atomic_inc(volatile unsigned long* p) { return atomic_add_return(p, 1); }
static inline unsigned long atomic_xchg(volatile unsigned long* p, unsigned long v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
static inline bool atomic_cmpxchg(volatile unsigned long* p, unsigned long old, unsigned long new_value)
{
    return __atomic_compare_exchange_n(p, &old, new_value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
#if defined(__x86_64__) /* gcc would use x87 for 64-bit atomics in 32-bit code */
static inline void atomic_max_u64(volatile uint64_t* p, uint64_t v)
{
    uint64_t cur = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (cur < v && !__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
}
#endif

typedef struct {
    volatile unsigned long locked;
} spinlock_t;
#define SPINLOCK_INIT {0}
static inline void spin_lock(spinlock_t* l)
{
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (READ_ONCE(l->locked))
            __asm__ volatile("pause" ::: "memory");
}
static inline bool spin_trylock(spinlock_t* l) { return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE); }
static inline void spin_unlock(spinlock_t* l) { __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE); }

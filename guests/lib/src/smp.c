/* Bringing up secondary vCPUs, handing them work, and waiting without spinning. */
#include "guest/guest.h"
#include "internal.h"

extern char smp_trampoline_start[], smp_trampoline_end[], smp_trampoline_stack[], smp_trampoline_local[];
extern char smp_ap_entry32[];
#if defined(__x86_64__)
extern char smp_ap_entry64[];
#endif
void smp_ap_start_c(struct cpu_local* c);

static struct cpu_local cpus[SMP_MAX_CPUS];
static unsigned vcpu_count;

#define LAPIC_BASE 0xfee00000UL
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_DIVIDE 0x3e0
#define ICR_ASSERT (1u << 14)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)

/* Each AP: a #DF page, then its kernel stack, then its CPL3 stack. */
#define AP_DF_PAGES 1
#define AP_KSTACK_PAGES 4
#define AP_USTACK_PAGES 16

static volatile uint32_t* lapic_reg(unsigned off) { return (volatile uint32_t*)(LAPIC_BASE + off); }

struct cpu_local* smp_cpu(unsigned id) { return id < SMP_MAX_CPUS ? &cpus[id] : NULL; }

struct cpu_local* smp_bsp_init(void)
{
    struct cpu_local* c = &cpus[0];
    c->self = c;
    c->id = 0;
    c->kstack_bottom = guest_boot_stack;
    c->kstack_top = guest_boot_stack_top;
    c->user_stack_bottom = guest_user_stack;
    c->user_stack_top = (unsigned long)guest_user_stack_top;
    c->online = true;
    return c;
}

static void ack_handler(struct trap_frame* f)
{
    (void)f;
    lapic_eoi();
}

static void spurious_handler(struct trap_frame* f) { (void)f; }

/* LAPIC on, the library's vectors handled: on each CPU before it waits or is woken. */
static void lapic_cpu_init(void)
{
    guest_set_irq_handler(SMP_WAKE_VECTOR, ack_handler);
    guest_set_irq_handler(SMP_TICK_VECTOR, ack_handler);
    guest_set_irq_handler(SMP_SPURIOUS_VECTOR, spurious_handler);
    lapic_enable(SMP_SPURIOUS_VECTOR);
    *lapic_reg(LAPIC_TIMER_DIVIDE) = 0xb; /* divide by 1 */
    *lapic_reg(LAPIC_LVT_TIMER) = SMP_TICK_VECTOR; /* one-shot, unmasked */
}

static void icr_send(unsigned apic_id, uint32_t low)
{
    unsigned long flags = irq_save(); /* the two halves must not be split by a handler's IPI */
    *lapic_reg(LAPIC_ICR_HI) = apic_id << 24;
    *lapic_reg(LAPIC_ICR_LO) = low;
    irq_restore(flags);
}

void lapic_send_ipi(unsigned cpu, uint8_t vector) { icr_send(cpu, ICR_ASSERT | vector); }

void lapic_timer_oneshot_us(uint32_t us)
{
    /* KVM's APIC timer counts at 1 GHz; divide-by-1 makes one count a nanosecond. */
    uint64_t count = (uint64_t)us * 1000;
    *lapic_reg(LAPIC_TIMER_INITIAL) = count > 0xffffffffu ? 0xffffffffu : (uint32_t)count;
}

void lapic_timer_stop(void) { *lapic_reg(LAPIC_TIMER_INITIAL) = 0; }

/* The BSP sets its LAPIC up the first time it waits or starts a CPU (the AP's answer is an IPI). */
static void bsp_init_once(void)
{
    static bool done;
    if (smp_cpu_id() == 0 && !done) {
        lapic_cpu_init();
        done = true;
    }
}

void smp_init(void) { bsp_init_once(); }

bool cpu_wait_until(bool (*cond)(void* arg), void* arg, uint64_t timeout_us)
{
    bsp_init_once();
    unsigned long flags = irq_save();
    uint64_t deadline = guest_time_us() + timeout_us;
    bool ok;
    for (;;) {
        irq_disable();
        if ((ok = cond(arg)))
            break;
        uint64_t now = guest_time_us();
        if (now >= deadline)
            break;
        uint64_t left = deadline - now;
        lapic_timer_oneshot_us(left < 1000 ? (uint32_t)left : 1000);
        cpu_wait_for_interrupt();
    }
    lapic_timer_stop();
    irq_restore(flags);
    return ok;
}

unsigned smp_vcpu_count(void)
{
    if (!vcpu_count) {
        unsigned n = 0;
        while (n < SMP_MAX_CPUS && hypercall_vcpu_op(VCPUOP_is_up, n, NULL) >= 0)
            n++;
        vcpu_count = n ? n : 1;
    }
    return vcpu_count;
}

bool smp_cpu_online(unsigned id) { return id < SMP_MAX_CPUS && cpus[id].online; }

static bool cpu_is_online(void* arg) { return ((struct cpu_local*)arg)->online; }

static bool ap_alloc(struct cpu_local* c)
{
    char* base = guest_alloc_pages(AP_DF_PAGES + AP_KSTACK_PAGES + AP_USTACK_PAGES);
    if (!base)
        return false;
    c->kstack_bottom = base + AP_DF_PAGES * PAGE_SIZE; /* the #DF stack tops out here */
    c->kstack_top = c->kstack_bottom + AP_KSTACK_PAGES * PAGE_SIZE;
    c->user_stack_bottom = c->kstack_top;
    c->user_stack_top = (unsigned long)(c->user_stack_bottom + AP_USTACK_PAGES * PAGE_SIZE);
    return true;
}

static int boot_vcpuop(struct cpu_local* c)
{
    struct vcpu_hvm_context ctx;
    memset(&ctx, 0, sizeof(ctx));
#if defined(__x86_64__)
    struct vcpu_hvm_x86_64* r = &ctx.cpu_regs.x86_64;
    ctx.mode = VCPU_HVM_MODE_64B;
    r->rip = (uintptr_t)smp_ap_entry64;
    r->rsp = (uintptr_t)c->kstack_top;
    r->rbx = (uintptr_t)c;
    r->rflags = EFLAGS_FIXED;
    r->cr0 = read_cr0(); /* the BSP's paging setup: the boot page tables map everything */
    r->cr3 = read_cr3();
    r->cr4 = read_cr4();
    r->efer = rdmsr(MSR_EFER);
#else
    struct vcpu_hvm_x86_32* r = &ctx.cpu_regs.x86_32;
    ctx.mode = VCPU_HVM_MODE_32B;
    r->eip = (uintptr_t)smp_ap_entry32;
    r->esp = (uintptr_t)c->kstack_top;
    r->ebx = (uintptr_t)c;
    r->eflags = EFLAGS_FIXED;
    r->cr0 = (uint32_t)read_cr0();
    r->cs_limit = r->ds_limit = r->ss_limit = r->es_limit = 0xffffffff;
    /* Xen's packed attributes: type, s, dpl, p, avl, l, db, g from bit 0. */
    r->cs_ar = 0xc9b; /* code, execute/read, accessed, 32-bit, 4 KiB granular */
    r->ds_ar = r->ss_ar = r->es_ar = 0xc93;
    r->tr_limit = 0x67;
    r->tr_ar = 0x8b; /* busy 32-bit TSS */
#endif
    long rc = hypercall_vcpu_op(VCPUOP_initialise, (unsigned)c->id, &ctx);
    if (rc == 0)
        rc = hypercall_vcpu_op(VCPUOP_up, (unsigned)c->id, NULL);
    return (int)rc;
}

static int boot_sipi(struct cpu_local* c)
{
    size_t len = (size_t)(smp_trampoline_end - smp_trampoline_start);
    char* page = (char*)SMP_TRAMPOLINE_ADDR;
    memcpy(page, smp_trampoline_start, len);
    *(volatile uint32_t*)(page + (smp_trampoline_stack - smp_trampoline_start)) = (uint32_t)(uintptr_t)c->kstack_top;
    *(volatile uint32_t*)(page + (smp_trampoline_local - smp_trampoline_start)) = (uint32_t)(uintptr_t)c;
    mb();
    unsigned id = (unsigned)c->id;
    icr_send(id, ICR_ASSERT | ICR_INIT);
    /* The second SIPI is the MP protocol's retry; a CPU that is already running ignores it. */
    icr_send(id, ICR_ASSERT | ICR_STARTUP | (SMP_TRAMPOLINE_ADDR >> 12));
    icr_send(id, ICR_ASSERT | ICR_STARTUP | (SMP_TRAMPOLINE_ADDR >> 12));
    return 0;
}

int smp_boot_cpu(unsigned id, enum smp_boot_method how, uint64_t timeout_us)
{
    if (id == 0 || id >= SMP_MAX_CPUS)
        return -XEN_EINVAL;
    struct cpu_local* c = &cpus[id];
    if (c->online)
        return -XEN_EEXIST;
    if (!c->kstack_top && !ap_alloc(c))
        return -XEN_ENOMEM;
    c->self = c;
    c->id = id;
    c->work_requester = smp_cpu_id();
    c->work_seq = c->work_done_seq = 0;
    bsp_init_once();
    int rc = how == SMP_BOOT_SIPI ? boot_sipi(c) : boot_vcpuop(c);
    if (rc)
        return rc;
    return cpu_wait_until(cpu_is_online, c, timeout_us) ? 0 : -XEN_ETIMEDOUT;
}

static _Noreturn void ap_idle(struct cpu_local* c)
{
    for (;;) {
        irq_disable();
        unsigned seq = READ_ONCE(c->work_seq);
        if (seq == c->work_done_seq) {
            cpu_wait_for_interrupt();
            continue;
        }
        long result = c->work_fn(c->work_arg);
        irq_disable();
        c->work_result = result;
        mb();
        WRITE_ONCE(c->work_done_seq, seq);
        lapic_send_ipi(c->work_requester, SMP_WAKE_VECTOR);
    }
}

void smp_ap_start_c(struct cpu_local* c)
{
    desc_init_ap(c, c->kstack_bottom);
    user_init();
    lapic_cpu_init();
    mb();
    WRITE_ONCE(c->online, true);
    lapic_send_ipi(c->work_requester, SMP_WAKE_VECTOR);
    ap_idle(c);
}

int smp_start_cpu(unsigned id, long (*fn)(void* arg), void* arg)
{
    if (id == 0 || id >= SMP_MAX_CPUS)
        return -XEN_EINVAL;
    struct cpu_local* c = &cpus[id];
    bsp_init_once();
    if (!c->online) {
        int rc = smp_boot_cpu(id, SMP_BOOT_VCPUOP, 5000000);
        if (rc)
            return rc;
    }
    if (READ_ONCE(c->work_seq) != READ_ONCE(c->work_done_seq))
        return -XEN_EBUSY;
    c->work_fn = fn;
    c->work_arg = arg;
    c->work_requester = smp_cpu_id();
    mb();
    WRITE_ONCE(c->work_seq, c->work_seq + 1);
    lapic_send_ipi(id, SMP_WAKE_VECTOR);
    return 0;
}

static bool work_done(void* arg)
{
    struct cpu_local* c = arg;
    return READ_ONCE(c->work_done_seq) == READ_ONCE(c->work_seq);
}

long smp_wait(unsigned id, uint64_t timeout_us)
{
    if (id == 0 || id >= SMP_MAX_CPUS)
        return -XEN_EINVAL;
    struct cpu_local* c = &cpus[id];
    if (!cpu_wait_until(work_done, c, timeout_us))
        return -XEN_ETIMEDOUT;
    mb();
    return c->work_result;
}

long smp_run_on(unsigned id, long (*fn)(void* arg), void* arg, uint64_t timeout_us)
{
    if (id == smp_cpu_id())
        return fn(arg);
    int rc = smp_start_cpu(id, fn, arg);
    return rc ? rc : smp_wait(id, timeout_us);
}

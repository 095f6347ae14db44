/* Interrupt dispatch and the report printed for unexpected exceptions and interrupts. */
#include "guest/guest.h"
#include "internal.h"

static irq_handler_t handlers[256];
static unsigned long counts[256];
static bool in_report;

void guest_set_irq_handler(unsigned vector, irq_handler_t fn)
{
    if (vector < 256)
        handlers[vector] = fn;
}

unsigned long guest_irq_count(unsigned vector) { return vector < 256 ? READ_ONCE(counts[vector]) : 0; }

const char* exception_name(unsigned vector)
{
    static const char* const names[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
        "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
    };
    return vector < 32 ? names[vector] : "IRQ";
}

static bool on_stack(unsigned long addr, const char* bottom, const char* top)
{
    return addr >= (unsigned long)bottom && addr + 2 * sizeof(long) <= (unsigned long)top;
}

/* Frame-pointer walk, bounded to the stacks the library owns. */
static void print_backtrace(unsigned long bp)
{
    char line[160];
    int n = snprintf(line, sizeof(line), "  backtrace:");
    for (int depth = 0; depth < 8 && n < (int)sizeof(line) - 20; depth++) {
        const struct cpu_local* c = this_cpu();
        bool ok = on_stack(bp, c->kstack_bottom, c->kstack_top) ||
                  on_stack(bp, c->user_stack_bottom, (const char*)c->user_stack_top);
        if (!ok || (bp & (sizeof(long) - 1)))
            break;
        const unsigned long* fp = (const unsigned long*)bp;
        n += snprintf(line + n, sizeof(line) - n, " %#lx", fp[1]);
        bp = fp[0];
    }
    printf("%s\n", line);
}

void guest_dump_frame(const struct trap_frame* f)
{
#if defined(__x86_64__)
    printf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n"
           "  rsi=%016lx rdi=%016lx rbp=%016lx rsp=%016lx\n"
           "  r8 =%016lx r9 =%016lx r10=%016lx r11=%016lx\n"
           "  r12=%016lx r13=%016lx r14=%016lx r15=%016lx\n"
           "  rflags=%08lx cs=%04lx ss=%04lx cr0=%08lx cr2=%016lx cr3=%08lx cr4=%08lx\n",
           f->ax, f->bx, f->cx, f->dx, f->si, f->di, f->bp, f->sp, f->r8, f->r9, f->r10, f->r11, f->r12, f->r13,
           f->r14, f->r15, f->flags, f->cs, f->ss, read_cr0(), read_cr2(), read_cr3(), read_cr4());
#else
    bool from_user = (f->cs & 3) != 0;
    printf("  eax=%08lx ebx=%08lx ecx=%08lx edx=%08lx\n"
           "  esi=%08lx edi=%08lx ebp=%08lx esp=%08lx\n"
           "  eflags=%08lx cs=%04lx ds=%04lx es=%04lx cr0=%08lx cr2=%08lx\n",
           f->ax, f->bx, f->cx, f->dx, f->si, f->di, f->bp,
           from_user ? f->sp : (unsigned long)&f->sp, f->flags, f->cs, f->ds, f->es, read_cr0(), read_cr2());
#endif
    print_backtrace(f->bp);
}

_Noreturn void trap_report_and_crash(const struct trap_frame* f)
{
    if (in_report) /* faulted while reporting: nothing left to trust */
        guest_triple_fault();
    in_report = true;
    unsigned v = (unsigned)f->vector;
    char why[96];
    if (v < 32)
        snprintf(why, sizeof(why), "exception %u %s error %#lx at %s %#lx (CPL%lu, cpu %u)", v, exception_name(v),
                 f->error_code, GUEST_BITS == 64 ? "RIP" : "EIP", f->ip, f->cs & 3, smp_cpu_id());
    else
        snprintf(why, sizeof(why), "unexpected interrupt vector %u at %#lx (CPL%lu, cpu %u)", v, f->ip, f->cs & 3,
                 smp_cpu_id());
    printf("*** %s\n", why);
    guest_dump_frame(f);
    test_on_crash(why);
    guest_crash();
}

void trap_dispatch(struct trap_frame* f)
{
    unsigned v = (unsigned)f->vector & 0xff;
    __atomic_fetch_add(&counts[v], 1, __ATOMIC_RELAXED); /* every CPU shares the table */
    if (v == 6 && user_is_syscall(f)) {
        user_syscall_dispatch(f);
        return;
    }
    if (handlers[v]) {
        handlers[v](f);
        return;
    }
    trap_report_and_crash(f);
}

#define LAPIC_BASE 0xfee00000UL
#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_ICR_SELF (1u << 18)
#define LAPIC_ICR_PENDING (1u << 12)

static volatile uint32_t* lapic_reg(unsigned off) { return (volatile uint32_t*)(LAPIC_BASE + off); }

void lapic_enable(uint8_t spurious_vector) { *lapic_reg(LAPIC_SVR) = 0x100u | spurious_vector; }
void lapic_eoi(void) { *lapic_reg(LAPIC_EOI) = 0; }
uint32_t lapic_id(void) { return *lapic_reg(LAPIC_ID) >> 24; }

bool lapic_present(void)
{
    return (cpuid(1, 0).edx & (1u << 9)) && (rdmsr(0x1b) & (1u << 11)); /* CPUID.APIC, IA32_APIC_BASE.EN */
}

void lapic_send_self_ipi(uint8_t vector)
{
    *lapic_reg(LAPIC_ICR_HI) = 0;
    *lapic_reg(LAPIC_ICR_LO) = LAPIC_ICR_SELF | vector; /* fixed delivery, edge */
    for (unsigned spins = 0; (*lapic_reg(LAPIC_ICR_LO) & LAPIC_ICR_PENDING) && spins < 100000; spins++)
        cpu_relax();
}

void trap_init(void)
{
    desc_init();
    /* Mask both 8259s: nothing should arrive at vectors 8-15 (BIOS defaults alias exceptions). */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

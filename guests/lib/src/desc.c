/* Descriptor tables: the TSS (its GDT slot), the IDT pointing at the stubs in isr.S. */
#include "guest/guest.h"
#include "internal.h"

#if defined(__x86_64__)
struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
};
#else
struct tss {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
};

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attr;
    uint16_t offset_hi;
};
#endif
_Static_assert(sizeof(struct tss) == 104, "TSS layout");

struct desc_ptr {
    uint16_t limit;
    unsigned long base;
} __attribute__((packed));

extern uint64_t guest_gdt[GDT_ENTRIES];
extern char guest_isr_stubs[];
extern char guest_df_stack_top[];

/* The BSP's TSS keeps its name: guests swap it for one with an I/O bitmap (hypercall_abi). */
struct tss guest_tss __attribute__((aligned(16)));
static struct tss ap_tss[SMP_MAX_CPUS] __attribute__((aligned(16)));
static uint64_t ap_gdt[SMP_MAX_CPUS][GDT_ENTRIES] __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16))) GUEST_NOINIT; /* filled by desc_init */

#define GATE_INTERRUPT 0x8e /* present, DPL0, interrupt gate (clears IF) */

static void set_gate(unsigned vector, unsigned dpl, unsigned ist)
{
    unsigned long addr = (unsigned long)guest_isr_stubs + vector * 16;
    struct idt_gate* g = &idt[vector];
    g->offset_lo = (uint16_t)addr;
    g->selector = GDT_KCODE;
    g->type_attr = (uint8_t)(GATE_INTERRUPT | (dpl << 5));
#if defined(__x86_64__)
    g->ist = (uint8_t)ist;
    g->offset_mid = (uint16_t)(addr >> 16);
    g->offset_hi = (uint32_t)(addr >> 32);
    g->reserved = 0;
#else
    (void)ist;
    g->zero = 0;
    g->offset_hi = (uint16_t)(addr >> 16);
#endif
}

void guest_set_irq_dpl(unsigned vector, unsigned dpl)
{
    if (vector < 256)
        idt[vector].type_attr = (uint8_t)(GATE_INTERRUPT | ((dpl & 3) << 5));
}

static uint64_t segment_descriptor(unsigned long base, uint32_t limit, uint8_t access, uint8_t flags)
{
    return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
           ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) |
           ((uint64_t)((base >> 24) & 0xff) << 56);
}

/* Loads gdt (reloading every segment register), the shared IDT and this CPU's TSS and GS. */
static void load_tables(uint64_t* gdt, struct cpu_local* c, char* df_stack_top)
{
    struct tss* tss = c->tss;
    unsigned long base = (unsigned long)tss;
    gdt[GDT_TSS / 8] = segment_descriptor(base, sizeof(*tss) - 1, 0x89, 0);
#if defined(__x86_64__)
    gdt[GDT_TSS / 8 + 1] = base >> 32;
    tss->ist[0] = (uint64_t)(unsigned long)df_stack_top;
#else
    (void)df_stack_top;
    tss->ss0 = GDT_KDATA;
#endif
    tss->iomap_base = sizeof(*tss); /* no I/O bitmap: CPL3 port I/O faults */
    /* 64 KiB byte-granular data segment, DPL 3, present, accessed; 32-bit. */
    gdt[GDT_PERCPU / 8] = segment_descriptor((unsigned long)c, 0xffff, 0xf3, 0x4);

    struct desc_ptr g = {.limit = GDT_ENTRIES * 8 - 1, .base = (unsigned long)gdt};
    __asm__ volatile("lgdt %0" ::"m"(g) : "memory");
#if defined(__x86_64__)
    __asm__ volatile("pushq %0; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:" ::"i"(GDT_KCODE64) : "rax", "memory");
#else
    __asm__ volatile("ljmp %0, $1f; 1:" ::"i"(GDT_KCODE32) : "memory");
#endif
    __asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%ss; mov %0, %%fs" ::"r"(GDT_KDATA) : "memory");
    __asm__ volatile("mov %0, %%gs" ::"r"(GDT_PERCPU | 3) : "memory");
    __asm__ volatile("ltr %w0" ::"r"(GDT_TSS) : "memory");
    struct desc_ptr p = {.limit = sizeof(idt) - 1, .base = (unsigned long)idt};
    __asm__ volatile("lidt %0" ::"m"(p));
}

void desc_init(void)
{
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, 0, v == 8 ? 1 : 0); /* #DF on its own stack (64-bit) */
    struct cpu_local* c = smp_bsp_init();
    c->tss = &guest_tss;
    load_tables(guest_gdt, c, guest_df_stack_top);
}

void desc_init_ap(struct cpu_local* c, char* df_stack_top)
{
    unsigned id = (unsigned)c->id;
    memcpy(ap_gdt[id], guest_gdt, sizeof(ap_gdt[id]));
    memset(&ap_tss[id], 0, sizeof(ap_tss[id]));
    c->tss = &ap_tss[id];
    load_tables(ap_gdt[id], c, df_stack_top);
}

void desc_load_empty_idt(void)
{
    struct desc_ptr p = {.limit = 0, .base = 0};
    __asm__ volatile("lidt %0" ::"m"(p));
}

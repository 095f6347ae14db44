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

struct tss guest_tss __attribute__((aligned(16)));
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

static void load_tss(void)
{
    unsigned long base = (unsigned long)&guest_tss;
    uint64_t limit = sizeof(guest_tss) - 1;
    uint64_t lo = (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | (0x89ULL << 40) |
                  ((uint64_t)((base >> 24) & 0xff) << 56);
    guest_gdt[GDT_TSS / 8] = lo;
#if defined(__x86_64__)
    guest_gdt[GDT_TSS / 8 + 1] = base >> 32;
    guest_tss.ist[0] = (uint64_t)(unsigned long)guest_df_stack_top;
#else
    guest_tss.ss0 = GDT_KDATA;
#endif
    guest_tss.iomap_base = sizeof(guest_tss); /* no I/O bitmap: CPL3 port I/O faults */
    __asm__ volatile("ltr %w0" ::"r"(GDT_TSS));
}

void desc_init(void)
{
    load_tss();
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, 0, v == 8 ? 1 : 0); /* #DF on its own stack (64-bit) */
    struct desc_ptr p = {.limit = sizeof(idt) - 1, .base = (unsigned long)idt};
    __asm__ volatile("lidt %0" ::"m"(p));
}

void desc_load_empty_idt(void)
{
    struct desc_ptr p = {.limit = 0, .base = 0};
    __asm__ volatile("lidt %0" ::"m"(p));
}

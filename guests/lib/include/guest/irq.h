/* Interrupt descriptor table, exception reporting and interrupt handlers. */
#pragma once
#include "guest/base.h"

/* The registers saved on every interrupt/exception. Handlers may change them (e.g. ip to skip an
 * instruction); they are restored on return. */
#if defined(__x86_64__)
struct trap_frame {
    unsigned long ax, bx, cx, dx, si, di, bp;
    unsigned long r8, r9, r10, r11, r12, r13, r14, r15;
    unsigned long vector, error_code;
    unsigned long ip, cs, flags, sp, ss; /* pushed by the CPU (sp/ss always, in long mode) */
};
#else
struct trap_frame {
    unsigned long di, si, bp, unused_sp, bx, dx, cx, ax; /* pusha order */
    unsigned long es, ds;
    unsigned long vector, error_code;
    unsigned long ip, cs, flags;
    unsigned long sp, ss; /* valid only when the trap came from CPL3 */
};
#endif

typedef void (*irq_handler_t)(struct trap_frame* frame);

/* Installs fn for any vector 0-255 (exceptions too: a handler replaces the crash report). fn = NULL
 * restores the default. Vectors 32-255 are all free for tests. (A `ud2` at CPL3 is the user_syscall()
 * gate and never reaches a #UD handler.) */
void guest_set_irq_handler(unsigned vector, irq_handler_t fn);
/* Gate DPL: 3 lets CPL3 code reach the vector with `int n` (default 0). Note: KVM cannot emulate
 * `int n`, and on hosts where it has to (see README) the instruction fails. */
void guest_set_irq_dpl(unsigned vector, unsigned dpl);
/* Counts interrupts seen per vector (handled or not); handy for tests. */
unsigned long guest_irq_count(unsigned vector);

/* "#PF", "#GP", ... or "IRQ" for vectors >= 32. */
const char* exception_name(unsigned vector);
/* Prints the frame (vector, error code, IP, registers, a short backtrace). */
void guest_dump_frame(const struct trap_frame* frame);

/* Local APIC (xAPIC MMIO at 0xfee00000): software-enable with a spurious vector; EOI. Needed for
 * HVMOP_set_evtchn_upcall_vector delivery; HVM_PARAM_CALLBACK_IRQ vector delivery needs no EOI. */
bool lapic_present(void);
void lapic_enable(uint8_t spurious_vector);
void lapic_eoi(void);
uint32_t lapic_id(void);
/* A fixed interrupt to ourselves (delivered once IF is set; the handler must lapic_eoi()). */
void lapic_send_self_ipi(uint8_t vector);

/* IOAPIC (0xfec00000): route a GSI to a vector on a CPU (fixed, physical, active high; edge or level),
 * or mask it. Level-triggered entries need lapic_eoi() in the handler. */
unsigned ioapic_pins(void);
void ioapic_route(unsigned gsi, uint8_t vector, unsigned dest_cpu, bool level);
void ioapic_mask(unsigned gsi);

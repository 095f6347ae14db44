/* The xkvm guest library: include this one header.
 *
 * A guest provides `int guest_main(void)` (or only TEST_CASEs: the library's default guest_main runs
 * them). The boot code enters at the PVH entry (32-bit, paging off), switches 64-bit guests to long
 * mode with the low 4 GiB identity mapped, loads GDT/TSS/IDT, masks the 8259 PICs, finds Xen and sets
 * up the hypercall page, then calls guest_main. Returning 0 powers off; anything else crashes. */
#pragma once
#include "guest/base.h"
#include "guest/boot.h"
#include "guest/console.h"
#include "guest/cpu.h"
#include "guest/evtchn.h"
#include "guest/hypercall.h"
#include "guest/irq.h"
#include "guest/pvclock.h"
#include "guest/smp.h"
#include "guest/string.h"
#include "guest/test.h"
#include "guest/user.h"
#include "guest/xen.h"
#include "guest/xenstore.h"

int guest_main(void);

/* Optional per-guest boot configuration: GUEST_CONFIG(.no_auto_hypercall_page = true); */
struct guest_config {
    bool no_auto_hypercall_page; /* leave discovery and the MSR write to the guest */
    unsigned console_outputs;    /* initial console_set_outputs() mask; 0 = CONSOLE_E9 */
};
#define GUEST_CONFIG(...) const struct guest_config guest_config = {__VA_ARGS__}

/* SCHEDOP_shutdown with the reason. Without Xen (or if the hypercall fails) power off falls back to
 * QEMU's isa-debug-exit (port 0xf4) / ACPI PM port and then `cli; hlt`; crash falls back to a triple
 * fault. */
_Noreturn void guest_shutdown(unsigned reason);
_Noreturn void guest_poweroff(void);
_Noreturn void guest_reboot(void);
_Noreturn void guest_crash(void);
/* Loads an empty IDT and faults: the VMM sees a triple fault. */
_Noreturn void guest_triple_fault(void);

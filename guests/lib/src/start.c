/* From the assembly entry to guest_main, and the ways out. */
#include "guest/guest.h"
#include "internal.h"

void guest_start_c(void);

void guest_start_c(void)
{
    const struct guest_config* cfg = &guest_config; /* weak: NULL when the guest has none */
    console_set_outputs(cfg && cfg->console_outputs ? cfg->console_outputs : CONSOLE_E9);
    trap_init();
    user_init();
    boot_info_init();
    if (xen_detect() && !(cfg && cfg->no_auto_hypercall_page)) {
        int rc = xen_setup_hypercall_page();
        if (rc)
            printf("guest: hypercall page setup failed (%s)\n", xen_strerror(rc));
    }
    int rc = guest_main();
    if (rc == 0)
        guest_poweroff();
    printf("guest: guest_main returned %d\n", rc);
    guest_crash();
}

#define QEMU_DEBUG_EXIT_PORT 0xf4 /* -device isa-debug-exit: QEMU exits with (value << 1) | 1 */
#define QEMU_ACPI_PM1A_CNT 0x604  /* PM1a control where QEMU's firmware puts it; SLP_EN | S5 */

_Noreturn void guest_triple_fault(void)
{
    irq_disable();
    desc_load_empty_idt();
    for (;;)
        __asm__ volatile("ud2");
}

_Noreturn void guest_shutdown(unsigned reason)
{
    if (xen_hypercalls_ready()) {
        int rc = xen_shutdown(reason);
        printf("guest: SCHEDOP_shutdown(%u) returned %d (%s)\n", reason, rc, xen_strerror(rc));
    } else {
        outb(QEMU_DEBUG_EXIT_PORT, reason == SHUTDOWN_poweroff ? 0 : 0x10 | (uint8_t)reason);
        if (reason == SHUTDOWN_poweroff)
            outw(QEMU_ACPI_PM1A_CNT, 0x2000);
    }
    if (reason == SHUTDOWN_crash || reason == SHUTDOWN_reboot)
        guest_triple_fault();
    irq_disable();
    for (;;)
        cpu_halt();
}

_Noreturn void guest_poweroff(void) { guest_shutdown(SHUTDOWN_poweroff); }
_Noreturn void guest_reboot(void) { guest_shutdown(SHUTDOWN_reboot); }
_Noreturn void guest_crash(void) { guest_shutdown(SHUTDOWN_crash); }

_Noreturn void panic(const char* fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("PANIC: %s\n", msg);
    test_on_crash(msg);
    guest_crash();
}

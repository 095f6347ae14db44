/* The toolstack tests' guest: its PVH command line picks what it does, so one image covers the
 * lifecycle cases (on_poweroff / on_reboot / on_crash, pause, xl shutdown through xenstore):
 *   (empty) or "poweroff"  print a line and power off
 *   "reboot"               print a line and ask to reboot (SHUTDOWN_reboot)
 *   "crash"                print a line and crash (SHUTDOWN_crash)
 *   "ticker"               print "tick N" about every 50 ms, forever (pause/unpause shows in the output)
 *   "pvctl"                advertise PV control (control/feature-poweroff, -reboot), watch
 *                          control/shutdown and obey it, as a PV-aware kernel does for `xl shutdown`
 *   "virqdebug"            bind VIRQ_DEBUG, say so, wait for it (`xl debug-keys q`), power off */
#include "guest/guest.h"

static void ticker(void)
{
    for (unsigned n = 0;; ++n) {
        printf("tick %u\n", n);
        guest_udelay(50000);
    }
}

static void pv_control(void)
{
    xs_set_timeout_ms(60000);
    int rc = xs_write("control/feature-poweroff", "1");
    if (rc >= 0)
        rc = xs_write("control/feature-reboot", "1");
    if (rc >= 0)
        rc = xs_watch("control/shutdown", "ctl");
    if (rc < 0) {
        printf("tsguest: xenstore failed: %d\n", rc);
        guest_crash();
    }
    printf("tsguest: pv control ready\n");
    for (;;) {
        char path[128], token[16], value[32];
        if (xs_read_watch(path, sizeof(path), token, sizeof(token)) < 0)
            continue;
        if (xs_read("control/shutdown", value, sizeof(value)) <= 0)
            continue;
        printf("tsguest: control/shutdown = %s\n", value);
        if (strcmp(value, "poweroff") == 0)
            guest_poweroff();
        if (strcmp(value, "reboot") == 0)
            guest_reboot();
    }
}

static void virq_debug(void)
{
    evtchn_port_t port;
    if (!xen_shared_info() || xen_evtchn_bind_virq(VIRQ_DEBUG, 0, &port) != 0) {
        printf("tsguest: cannot bind VIRQ_DEBUG\n");
        guest_crash();
    }
    xen_evtchn_mask(port);
    printf("tsguest: VIRQ_DEBUG bound\n");
    while (!xen_evtchn_test_and_clear_pending(port)) {
        struct sched_poll p = {.ports = &port, .nr_ports = 1, .timeout = 0};
        hypercall_sched_op(SCHEDOP_poll, &p);
    }
    printf("tsguest: VIRQ_DEBUG received\n");
}

int guest_main(void)
{
    const char* mode = guest_cmdline();
    printf("tsguest: mode '%s'\n", mode);
    if (strcmp(mode, "reboot") == 0)
        guest_reboot();
    if (strcmp(mode, "crash") == 0)
        guest_crash();
    if (strcmp(mode, "ticker") == 0)
        ticker();
    if (strcmp(mode, "pvctl") == 0)
        pv_control();
    if (strcmp(mode, "virqdebug") == 0)
        virq_debug();
    printf("tsguest: powering off\n");
    return 0;
}

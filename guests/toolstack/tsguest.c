/* The toolstack tests' guest: its PVH command line picks what it does, so one image covers the
 * lifecycle cases (on_poweroff / on_reboot / on_crash, pause, xl shutdown through xenstore):
 *   (empty) or "poweroff"  print a line and power off
 *   "reboot"               print a line and ask to reboot (SHUTDOWN_reboot)
 *   "crash"                print a line and crash (SHUTDOWN_crash)
 *   "ticker"               print "tick N" about every 50 ms, forever (pause/unpause shows in the output)
 *   "pvctl"                advertise PV control (control/feature-poweroff, -reboot), watch
 *                          control/shutdown and obey it, as a PV-aware kernel does for `xl shutdown`
 *   "virqdebug"            bind VIRQ_DEBUG, say so, wait for it (`xl debug-keys q`), power off
 *   "xsping"               xenstore round trips (a write and a read of data/ping) forever, printing
 *                          "xsping <batch> <us>" per batch of 20: how long the daemon takes to serve
 *                          it (issue 11: a hostile neighbour must not slow it much). Once data/peer
 *                          names a domain, it binds an interdomain channel to that domain's port 1
 *                          ("xsping bound <rc>") and sends on it with every round trip
 *   "balloon"              a balloon driver: watch memory/target and give pages back from the top
 *                          of RAM, or populate pages above it, until the memory it holds is the
 *                          target; print "balloon at <KiB> KiB for target <KiB> KiB (reservation
 *                          <pages>)" each time */
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

/* The port bound to data/peer's port 1 once data/peer is written; 0 until then. */
static evtchn_port_t bind_to_peer(void)
{
    char value[16];
    if (xs_read("data/peer", value, sizeof(value)) <= 0)
        return 0;
    evtchn_port_t port = 0;
    int rc = xen_evtchn_bind_interdomain((domid_t)strtoul(value, NULL, 10), 1, &port);
    printf("xsping bound %d\n", rc);
    return rc == 0 ? port : 0;
}

static void xenstore_ping(void)
{
    xs_set_timeout_ms(60000);
    char value[16];
    evtchn_port_t peer = 0;
    for (unsigned batch = 0;; ++batch) {
        if (!peer)
            peer = bind_to_peer();
        uint64_t start = guest_time_us();
        for (unsigned i = 0; i < 20; i++) {
            snprintf(value, sizeof(value), "%u", i);
            int rc = xs_write("data/ping", value);
            if (rc >= 0)
                rc = xs_read("data/ping", value, sizeof(value));
            if (rc < 0)
                printf("xsping error %d\n", rc);
            if (peer && (rc = xen_evtchn_send(peer)) != 0)
                printf("xsping error send %d\n", rc);
        }
        printf("xsping %u %lu\n", batch, (unsigned long)(guest_time_us() - start));
    }
}

/* Where the balloon stands: pages given back (negative) or added (positive) since boot. Pages leave
 * from the top of the boot RAM downwards and arrive above it upwards, so each is one gfn formula. */
static long balloon_delta;
static uint64_t balloon_top_gfn;

static long balloon_move(long pages)
{
    static xen_pfn_t batch[256];
    unsigned n = pages > 0 ? (unsigned)(pages < 256 ? pages : 256) : (unsigned)(-pages < 256 ? -pages : 256);
    for (unsigned i = 0; i < n; i++)
        batch[i] = pages > 0 ? balloon_top_gfn + (uint64_t)balloon_delta + i
                             : balloon_top_gfn + (uint64_t)balloon_delta - 1 - i;
    struct xen_memory_reservation r = {
        .extent_start = batch, .nr_extents = n, .extent_order = 0, .mem_flags = 0, .domid = DOMID_SELF};
    long done = hypercall_memory_op(pages > 0 ? XENMEM_populate_physmap : XENMEM_decrease_reservation, &r);
    if (done > 0)
        balloon_delta += pages > 0 ? done : -done;
    return done;
}

static uint64_t boot_ram_top_gfn(void)
{
    struct guest_mem_region map[32];
    int n = guest_memory_map(map, 32);
    uint64_t top = 0;
    for (int i = 0; i < n; i++)
        if (map[i].type == XEN_HVM_MEMMAP_TYPE_RAM && map[i].addr + map[i].size > top && map[i].addr < 0xf0000000ULL)
            top = map[i].addr + map[i].size;
    return top >> PAGE_SHIFT;
}

static void balloon_driver(void)
{
    char value[32], path[128], token[16];
    xs_set_timeout_ms(60000);
    balloon_top_gfn = boot_ram_top_gfn();
    if (!balloon_top_gfn || xs_read("memory/target", value, sizeof(value)) <= 0 || xs_watch("memory/target", "bal") < 0) {
        printf("tsguest: balloon cannot start\n");
        guest_crash();
    }
    long boot_kib = (long)strtoul(value, NULL, 10);
    printf("tsguest: balloon ready at %ld KiB\n", boot_kib);
    for (;;) {
        if (xs_read_watch(path, sizeof(path), token, sizeof(token)) < 0 || xs_read("memory/target", value, sizeof(value)) <= 0)
            continue;
        long target_kib = (long)strtoul(value, NULL, 10);
        long want = (target_kib - boot_kib) / 4;
        while (balloon_delta != want)
            if (balloon_move(want - balloon_delta) <= 0)
                break; /* the hypervisor refused: report where the balloon stopped */
        domid_t self = DOMID_SELF;
        printf("tsguest: balloon at %ld KiB for target %ld KiB (reservation %ld)\n", boot_kib + balloon_delta * 4,
               target_kib, hypercall_memory_op(XENMEM_current_reservation, &self));
    }
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
    if (strcmp(mode, "balloon") == 0)
        balloon_driver();
    if (strcmp(mode, "xsping") == 0)
        xenstore_ping();
    printf("tsguest: powering off\n");
    return 0;
}

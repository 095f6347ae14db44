/* The demo guest: a tour of what a Xen HVM/PVH guest sees under xkvm. It is the first thing a new
 * user boots, so every step says what it did and failures are explained rather than fatal. */
#include "guest/guest.h"
#include "xen/abi/console.h"

/* The demo walks through discovery and the hypercall page itself. */
GUEST_CONFIG(.no_auto_hypercall_page = true);

#define LABEL "%-12s"

static void print_size(char* buf, size_t size, uint64_t bytes)
{
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    while (u + 1 < ARRAY_SIZE(units) && bytes >> (10 * (u + 1)))
        u++;
    uint64_t whole = bytes >> (10 * u), part = bytes & ((1ULL << (10 * u)) - 1);
    unsigned tenths = (unsigned)((part * 10) >> (10 * u));
    if (part)
        snprintf(buf, size, "%llu.%u %s", (unsigned long long)whole, tenths, units[u]);
    else
        snprintf(buf, size, "%llu %s", (unsigned long long)whole, units[u]);
}

static void print_memory_map(const char* source, int n, const struct guest_mem_region* map)
{
    if (n < 0) {
        printf(LABEL "%s: not available (%s)\n", "memory map", source, xen_strerror(n));
        return;
    }
    printf(LABEL "%s, %d entr%s:\n", "memory map", source, n, n == 1 ? "y" : "ies");
    for (int i = 0; i < n; i++) {
        char size[32];
        print_size(size, sizeof(size), map[i].size);
        printf("              0x%016llx-0x%016llx  %-9s %s\n", (unsigned long long)map[i].addr,
               (unsigned long long)(map[i].addr + map[i].size - 1), memory_type_name(map[i].type), size);
    }
}

static void show_boot(void)
{
    switch (guest_boot_mode()) {
    case GUEST_BOOT_PVH: {
        const struct hvm_start_info* si = guest_start_info();
        printf(LABEL "PVH entry, start info at %p (version %u, %u module%s)\n", "boot", (const void*)si,
               si->version, si->nr_modules, si->nr_modules == 1 ? "" : "s");
        const char* cmdline = guest_cmdline();
        if (*cmdline)
            printf(LABEL "command line \"%s\"\n", "", cmdline);
        break;
    }
    case GUEST_BOOT_HVM:
        printf(LABEL "HVM firmware entry (no start info)\n", "boot");
        break;
    case GUEST_BOOT_BAD:
        printf(LABEL "ebx=%#x is not a PVH start info (bad magic)\n", "boot", guest_boot_ebx());
        break;
    }
    printf(LABEL "%d-bit, running at CPL%u, image %p-%p\n", "", GUEST_BITS, cpu_cpl(), (void*)__image_start,
           (void*)__image_end);
}

static bool find_xen(void)
{
    if (!xen_detect()) {
        printf(LABEL "no Xen signature in CPUID 0x40000000-0x4000ff00\n", "hypervisor");
        printf(LABEL "running without Xen: skipping hypercalls, xenstore and the Xen consoles\n", "");
        return false;
    }
    struct cpuid_regs sig = cpuid(xen_info.cpuid_base, 0);
    char text[13];
    memcpy(text, &sig.ebx, 4);
    memcpy(text + 4, &sig.ecx, 4);
    memcpy(text + 8, &sig.edx, 4);
    text[12] = '\0';
    printf(LABEL "\"%s\" at CPUID %#x (leaves up to %#x), Xen %u.%u\n", "hypervisor", text, xen_info.cpuid_base,
           xen_info.cpuid_max_leaf, xen_info.cpuid_version >> 16, xen_info.cpuid_version & 0xffff);

    int rc = xen_setup_hypercall_page();
    if (rc) {
        printf(LABEL "could not set up the hypercall page through MSR %#x (%s)\n", "hypercalls",
               xen_info.hypercall_msr, xen_strerror(rc));
        return false;
    }
    printf(LABEL "page at %p filled by writing MSR %#x (%u page%s offered)\n", "hypercalls",
           (void*)xen_hypercall_page, xen_info.hypercall_msr, xen_info.hypercall_pages,
           xen_info.hypercall_pages == 1 ? "" : "s");
    return true;
}

static void show_version(void)
{
    long v = hypercall_xen_version(XENVER_version, NULL);
    if (v < 0) {
        printf(LABEL "XENVER_version failed (%s)\n", "xen_version", xen_strerror(v));
        return;
    }
    static char extra[XEN_EXTRAVERSION_LEN + 1];
    static char caps[XEN_CAPABILITIES_INFO_LEN + 1];
    long rc1 = hypercall_xen_version(XENVER_extraversion, extra);
    long rc2 = hypercall_xen_version(XENVER_capabilities, caps);
    struct xen_feature_info features = {.submap_idx = 0};
    long rc3 = hypercall_xen_version(XENVER_get_features, &features);
    printf(LABEL "Xen %lu.%lu%s\n", "xen_version", (unsigned long)v >> 16, (unsigned long)v & 0xffff,
           rc1 == 0 ? extra : " (no extraversion)");
    printf(LABEL "capabilities \"%s\"\n", "", rc2 == 0 ? caps : xen_strerror(rc2));
    if (rc3 == 0)
        printf(LABEL "feature submap 0 = %#x\n", "", features.submap);
}

static void show_memory(bool have_xen)
{
    static struct guest_mem_region map[32];
    if (guest_start_info())
        print_memory_map("from the PVH start info", guest_memory_map_start_info(map, ARRAY_SIZE(map)), map);
    if (have_xen)
        print_memory_map("from XENMEM_memory_map", guest_memory_map_xen(map, ARRAY_SIZE(map)), map);
}

static void show_shared_info(void)
{
    struct shared_info* si = xen_shared_info();
    if (!si) {
        printf(LABEL "XENMEM_add_to_physmap(shared_info) failed\n", "shared_info");
        return;
    }
    const struct vcpu_time_info* t = &si->vcpu_info[0].time;
    printf(LABEL "mapped at %p: wallclock %u s (version %u), vcpu0 system time %llu ns\n", "shared_info",
           (void*)si, READ_ONCE(si->wc_sec), READ_ONCE(si->wc_version),
           (unsigned long long)READ_ONCE(t->system_time));
}

static void show_xenstore(void)
{
    char domid[32], name[128];
    xs_set_timeout_ms(2000);
    int rc = xs_read("domid", domid, sizeof(domid));
    if (rc < 0) {
        printf(LABEL "reading \"domid\" failed (%s; ring at %p, event channel %u)\n", "xenstore",
               xen_strerror(rc), (void*)xs_ring(), xs_evtchn());
        return;
    }
    rc = xs_read("name", name, sizeof(name));
    printf(LABEL "I am domain %s, named \"%s\" (ring at %p, event channel %u)\n", "xenstore", domid,
           rc < 0 ? xen_strerror(rc) : name, (void*)xs_ring(), xs_evtchn());
}

static void report(const char* what, int rc)
{
    if (rc)
        printf(LABEL "%s failed (%s)\n", "console", what, xen_strerror(rc));
}

static void show_consoles(bool have_xen)
{
    static const char e9[] = "console     hello through port 0xe9, the debug console\n";
    static const char xen[] = "console     hello through the console_io hypercall\n";
    static const char uart[] = "console     hello through the 16550 UART at 0x3f8\n";
    console_write_e9(e9, sizeof(e9) - 1);
    if (have_xen)
        report("console_io", console_write_xen(xen, sizeof(xen) - 1));
    report("UART", console_write_uart(uart, sizeof(uart) - 1));
    if (have_xen) {
        int rc = console_pv_init();
        if (rc == 0) {
            char line[96];
            int n = snprintf(line, sizeof(line), "console     hello through the PV console ring (event channel %u)\n",
                             console_pv_evtchn());
            rc = console_write_pv(line, (size_t)n);
        }
        report("PV console ring", rc);
    }
}

struct prime_job {
    uint32_t limit;
    uint32_t count;
    uint64_t sum;
};

/* Runs at CPL3: natively fast even where CPL0 is emulated. */
static long count_primes(void* arg)
{
    struct prime_job* job = arg;
    for (uint32_t n = 2; n < job->limit; n++) {
        bool prime = true;
        for (uint32_t d = 2; d * d <= n; d++) {
            if (n % d == 0) {
                prime = false;
                break;
            }
        }
        if (prime) {
            job->count++;
            job->sum += n;
        }
    }
    user_printf("cpl3        hello from CPL%u\n", cpu_cpl());
    return job->count;
}

static void show_cpl3(void)
{
    struct prime_job job = {.limit = 100000};
    long result = guest_run_user(count_primes, &job);
    printf(LABEL "back at CPL%u: %ld primes below %u, their sum is %llu\n", "cpl3", cpu_cpl(), result,
           job.limit, (unsigned long long)job.sum);
}

int guest_main(void)
{
    printf("\n"
           "  xkvm demo guest\n"
           "  ---------------\n"
           "  A %d-bit PVH guest (guests/demo) built on the guest library in guests/lib.\n\n",
           GUEST_BITS);
    show_boot();
    bool have_xen = find_xen();
    if (have_xen)
        show_version();
    show_memory(have_xen);
    if (have_xen) {
        show_shared_info();
        show_xenstore();
    }
    show_consoles(have_xen);
    show_cpl3();
    printf(LABEL "powering off. Bye!\n\n", "done");
    return 0;
}

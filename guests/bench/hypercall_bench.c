/* Round-trip costs seen from inside the guest, measured side by side in one run: a Xen hypercall
 * (guest -> VMM -> guest), a bare port write to an unclaimed port (the same exit to user space with
 * no hypercall work), CPUID (an exit KVM answers in the kernel) and an event-channel send on an IPI
 * port bound to this vCPU. Prints "BENCH <name> <iterations> <tsc cycles per op>" lines for the
 * host harness (bench/hypercall_bench). */
#include "guest/guest.h"

#define ITERATIONS 2000

static uint64_t per_op(uint64_t start, uint64_t end) { return (end - start) / ITERATIONS; }

static void report(const char* name, uint64_t cycles)
{
    printf("BENCH %s %u %llu\n", name, (unsigned)ITERATIONS, (unsigned long long)cycles);
}

int guest_main(void)
{
    if (!xen_detect()) {
        printf("BENCH-ERROR no Xen\n");
        guest_crash();
    }
    printf("BENCH tsc_khz 1 %u\n", (unsigned)guest_tsc_khz());

    uint64_t t0 = rdtsc();
    for (int i = 0; i < ITERATIONS; ++i)
        (void)hypercall_xen_version(XENVER_version, 0);
    report("hypercall_xen_version", per_op(t0, rdtsc()));

    t0 = rdtsc();
    for (int i = 0; i < ITERATIONS; ++i)
        outb(0x80, 0); /* POST code port: nobody claims it, so it is a bare exit to the VMM */
    report("port_exit", per_op(t0, rdtsc()));

    t0 = rdtsc();
    for (int i = 0; i < ITERATIONS; ++i)
        (void)cpuid(0, 0);
    report("cpuid_exit", per_op(t0, rdtsc()));

    struct evtchn_bind_ipi ipi = { .vcpu = 0 };
    if (hypercall_event_channel_op(EVTCHNOP_bind_ipi, &ipi) == 0) {
        struct evtchn_send send = { .port = ipi.port };
        t0 = rdtsc();
        for (int i = 0; i < ITERATIONS; ++i)
            (void)hypercall_event_channel_op(EVTCHNOP_send, &send);
        report("evtchn_send_self", per_op(t0, rdtsc()));
    }
    printf("BENCH-DONE\n");
    guest_poweroff();
    return 0;
}

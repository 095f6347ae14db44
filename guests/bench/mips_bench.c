/* Integer speed of whatever runs this guest: xkvm on the emulated CPU, xkvm on KVM, or QEMU (TCG or
 * KVM) booting the same ELF through its PVH entry. Runs the workload of mips_workload.c for
 * `iterations=N` rounds (PVH command line, default 10) and reports, for the host harness
 * (bench/mips_bench):
 *
 *   BENCH hypervisor 1 <1 = Xen found by CPUID 0x40000000, 0 = none (QEMU)>
 *   BENCH tsc_khz 1 <kHz>                    (only with Xen: its CPUID time leaf)
 *   BENCH mips_cycles <N> <TSC cycles around the N rounds>
 *   BENCH mips_checksum <N> <checksum of the N rounds' output>
 *   BENCH-DONE
 *
 * A guest cannot count its own instructions on every backend. The workload is deterministic, so the
 * harness counts them where it can (the emulated CPU counts retired instructions: runs of N and of 0
 * rounds differ by exactly the N rounds) and divides that count by each backend's cycles. The
 * checksum shows every backend did the same work.
 *
 * The rounds run at CPL3: where KVM runs guest CPL0 code in its instruction emulator (nested
 * virtualisation, guests/README.md), CPL3 still runs natively, and the emulated CPU and QEMU do not
 * care. Without Xen the library prints to port 0xe9 and powers off through isa-debug-exit. */
#include "guest/guest.h"
#include "mips_workload.h"

#define DEFAULT_ITERATIONS 10

/* Written at CPL3 (all guest memory is user-accessible), read back at CPL0. */
static struct {
    uint32_t iterations;
    uint64_t tsc_start, tsc_end;
    uint64_t checksum;
} run;

static long workload_at_cpl3(void* arg)
{
    (void)arg;
    run.tsc_start = rdtsc_ordered();
    run.checksum = mips_workload_run(run.iterations);
    run.tsc_end = rdtsc_ordered();
    return 0;
}

/* "iterations=N" anywhere on the command line, else the default. */
static uint32_t iterations_from_cmdline(void)
{
    static const char kKey[] = "iterations=";
    for (const char* p = guest_cmdline(); *p; p++) {
        if ((p == guest_cmdline() || p[-1] == ' ') && strncmp(p, kKey, sizeof(kKey) - 1) == 0)
            return (uint32_t)strtoul(p + sizeof(kKey) - 1, 0, 10);
    }
    return DEFAULT_ITERATIONS;
}

int guest_main(void)
{
    run.iterations = iterations_from_cmdline();
    printf("BENCH hypervisor 1 %u\n", xen_present() ? 1u : 0u);
    if (xen_present())
        printf("BENCH tsc_khz 1 %u\n", (unsigned)guest_tsc_khz());
    (void)guest_run_user(workload_at_cpl3, 0);
    printf("BENCH mips_cycles %u %llu\n", (unsigned)run.iterations,
           (unsigned long long)(run.tsc_end - run.tsc_start));
    printf("BENCH mips_checksum %u %llu\n", (unsigned)run.iterations, (unsigned long long)run.checksum);
    printf("BENCH-DONE\n");
    return 0;
}

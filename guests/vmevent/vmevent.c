/* The vm_event guest (issue 10): it makes events for a monitor attached to its VMM and checks
 * that it runs on correctly afterwards. Command line:
 *   mode=request  every vCPU makes count= HVMOP_guest_request_vm_event calls; the payload is in
 *                 the registers: rdx = VMEVENT_MAGIC | cpu << 32 | sequence number, r10 = ~rdx
 *   vcpus=N       vCPUs taking part (default 1)
 *   count=N       events per vCPU (default 100)
 * Each vCPU reports "vcpu <id> requests <n> cycles <tsc cycles>", then the whole run
 * "BENCH vmevent_request_cycles <events> <mean cycles per event>" and "BENCH tsc_khz 1 <kHz>". */
#include "conformance.h"
#include "guest/smp.h"

#define VMEVENT_MAGIC 0x5e00000000000000ul
#define WAIT_US 1200000000ull /* a monitor may hold a vCPU as long as it likes; a hang fails the test */

static unsigned vcpus;
static unsigned long count;
static volatile unsigned long failures[SMP_MAX_CPUS];
static volatile uint64_t cycles[SMP_MAX_CPUS];

static long guest_request(unsigned long payload)
{
    return XG_HCALL(XEN_HYPERCALL_hvm_op, HVMOP_guest_request_vm_event, 0, payload, ~payload, 0);
}

static long request_storm(void* arg)
{
    (void)arg;
    unsigned cpu = smp_cpu_id();
    uint64_t t0 = rdtsc();
    for (unsigned long seq = 0; seq < count; seq++) {
        long rc = guest_request(VMEVENT_MAGIC | (unsigned long)cpu << 32 | seq);
        if (rc != 0) {
            if (failures[cpu]++ == 0)
                printf("vcpu %u: guest request %lu returned %ld\n", cpu, seq, rc);
        }
    }
    cycles[cpu] = rdtsc() - t0;
    return 0;
}

static bool run_everywhere(long (*fn)(void*))
{
    for (unsigned c = 1; c < vcpus; c++)
        if (smp_start_cpu(c, fn, NULL) != 0) {
            printf("vcpu %u did not start\n", c);
            return false;
        }
    fn(NULL);
    for (unsigned c = 1; c < vcpus; c++)
        if (smp_wait(c, WAIT_US) != 0) {
            printf("vcpu %u did not finish\n", c);
            return false;
        }
    return true;
}

static bool mode_request(void)
{
    if (!run_everywhere(request_storm))
        return false;
    uint64_t total = 0;
    unsigned long failed = 0;
    for (unsigned c = 0; c < vcpus; c++) {
        printf("vcpu %u requests %lu cycles %llu\n", c, count, (unsigned long long)cycles[c]);
        total += cycles[c];
        failed += failures[c];
    }
    printf("BENCH tsc_khz 1 %u\n", (unsigned)guest_tsc_khz());
    printf("BENCH vmevent_request_cycles %lu %llu\n", count * vcpus,
           (unsigned long long)(total / (count * vcpus)));
    return failed == 0;
}

int guest_main(void)
{
    vcpus = (unsigned)conf_arg_ulong("vcpus", 1);
    count = conf_arg_ulong("count", 100);
    const char* mode = conf_arg("mode");
    bool ok = false;
    if (vcpus == 0 || vcpus > smp_vcpu_count())
        printf("vcpus=%u but the domain has %u\n", vcpus, smp_vcpu_count());
    else if (strcmp(mode, "request") == 0)
        ok = mode_request();
    else
        printf("unknown mode '%s'\n", mode);
    printf("RESULT: %s\n", ok ? "PASS" : "FAIL");
    return 0;
}

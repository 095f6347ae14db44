/* Event latency from vCPU 0 to vCPU 1, three ways measured side by side in one run (bench/evtchn_bench):
 *   evtchn_ipi_percpu    EVTCHNOP_send on an IPI port bound to vCPU 1, upcall through vCPU 1's
 *                        HVMOP_set_evtchn_upcall_vector (LAPIC-delivered, EOIed)
 *   evtchn_ipi_callback  the same, upcall through the domain-wide HVM_PARAM_CALLBACK_IRQ vector
 *   lapic_ipi            a fixed IPI through the LAPIC ICR, no hypervisor software involved
 * vCPU 1 idles in `sti; hlt`; each round vCPU 0 stamps the TSC, sends, and waits until vCPU 1's
 * handler has stamped its arrival (both vCPUs read the same TSC). Prints
 * "BENCH <name> <rounds> <tsc cycles per event>" and "BENCH <name>_rate <rounds> <events per s>". */
#include "guest/evtchn.h"
#include "guest/guest.h"
#include "guest/smp.h"

#define ROUNDS 1000
#define LAPIC_VECTOR 0x60
#define PERCPU_VECTOR 0x61
#define CALLBACK_VECTOR 0x62
#define WAIT_CYCLES (10ull * 1000 * 1000 * 1000) /* a lost event fails the run, not hangs it */

static volatile uint64_t arrived_tsc;
static volatile unsigned long arrivals;
static volatile bool stop_idle;

static void on_event(evtchn_port_t port, void* arg)
{
    (void)port;
    (void)arg;
    arrived_tsc = rdtsc();
    arrivals++;
}

static void on_lapic_ipi(struct trap_frame* f)
{
    (void)f;
    arrived_tsc = rdtsc();
    arrivals++;
    lapic_eoi();
}

static long idle(void* arg)
{
    (void)arg;
    while (!stop_idle)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    return 0;
}

/* One measurement: `send` delivers one event to vCPU 1. */
static bool measure(const char* name, void (*send)(void* arg), void* arg)
{
    uint64_t latency = 0, t_start = rdtsc();
    for (unsigned i = 0; i < ROUNDS; i++) {
        unsigned long before = arrivals;
        uint64_t t0 = rdtsc();
        send(arg);
        while (arrivals == before)
            if (rdtsc() - t0 > WAIT_CYCLES) {
                printf("BENCH-ERROR %s: event %u never arrived\n", name, i);
                return false;
            }
        latency += arrived_tsc - t0;
    }
    uint64_t elapsed = rdtsc() - t_start;
    printf("BENCH %s %u %llu\n", name, ROUNDS, (unsigned long long)(latency / ROUNDS));
    printf("BENCH %s_rate %u %llu\n", name, ROUNDS,
           (unsigned long long)((uint64_t)ROUNDS * guest_tsc_khz() * 1000ull / elapsed));
    return true;
}

static void send_event(void* arg) { xen_evtchn_send(*(evtchn_port_t*)arg); }
static void send_lapic_ipi(void* arg)
{
    (void)arg;
    lapic_send_ipi(1, LAPIC_VECTOR);
}

int guest_main(void)
{
    printf("BENCH tsc_khz 1 %u\n", (unsigned)guest_tsc_khz());
    evtchn_port_t port;
    bool ok = evtchn_init() == 0 && smp_start_cpu(1, idle, NULL) == 0 && xen_evtchn_bind_ipi(1, &port) == 0;
    if (!ok) {
        printf("BENCH-ERROR setup failed\n");
        guest_crash();
    }
    guest_set_irq_handler(LAPIC_VECTOR, on_lapic_ipi);
    evtchn_register(port, 1, on_event, NULL);
    ok = ok && evtchn_use_callback_vector(CALLBACK_VECTOR) == 0 && measure("evtchn_ipi_callback", send_event, &port);
    ok = ok && evtchn_use_percpu_vector(1, PERCPU_VECTOR) == 0 && measure("evtchn_ipi_percpu", send_event, &port);
    ok = ok && measure("lapic_ipi", send_lapic_ipi, NULL);
    stop_idle = true;
    lapic_send_ipi(1, LAPIC_VECTOR);
    smp_wait(1, 1000000);
    printf(ok ? "BENCH-DONE\n" : "BENCH-ERROR a measurement failed\n");
    return ok ? 0 : 1;
}

/* What the event-channel / timer / SMP conformance guests share: bring every vCPU up, choose the
 * upcall path, wait for deliveries. Command line: vcpus=<n> (the domain's vCPU count). */
#pragma once
#include "conformance.h"

#define EV_UPCALL_VECTOR 0xe0   /* per-vCPU upcall vector (LAPIC, EOI) */
#define EV_CALLBACK_VECTOR 0xd0 /* HVM_PARAM_CALLBACK_IRQ vector (no EOI) */
#define EV_WAIT_US 2000000      /* a delivery that takes longer than this is lost */
#define EV_QUIET_US 20000       /* how long "nothing arrives" is watched */

/* Parsed once, by the BSP before any AP runs: conf_arg's buffer is not for concurrent use. */
static inline unsigned ev_vcpus(void)
{
    static unsigned n;
    if (!n) {
        unsigned long v = conf_arg_ulong("vcpus", 1);
        n = v == 0 ? 1 : v > SMP_MAX_CPUS ? SMP_MAX_CPUS : (unsigned)v;
    }
    return n;
}

/* shared_info mapped, the BSP's LAPIC on, every vCPU online (VCPUOP), and, with percpu, every
 * vCPU's HVMOP_set_evtchn_upcall_vector set once its LAPIC is enabled (as Linux does it, on a
 * running CPU: a vector raised at a disabled LAPIC would be lost). */
static inline bool ev_setup(bool percpu)
{
    if (evtchn_init() != 0)
        return false;
    smp_init();
    for (unsigned v = 1; v < ev_vcpus(); v++)
        if (!smp_cpu_online(v) && smp_boot_cpu(v, SMP_BOOT_VCPUOP, EV_WAIT_US) != 0)
            return false;
    for (unsigned v = 0; percpu && v < ev_vcpus(); v++)
        if (evtchn_use_percpu_vector(v, EV_UPCALL_VECTOR) != 0)
            return false;
    return true;
}

struct ev_count_wait {
    evtchn_port_t port;
    unsigned long count;
};
static inline bool ev_count_reached(void* arg)
{
    const struct ev_count_wait* w = arg;
    return evtchn_count(w->port) >= w->count;
}
/* Halts (interrupts on) until port has been delivered `count` times in all, or the timeout. */
static inline bool ev_wait_count(evtchn_port_t port, unsigned long count, uint64_t timeout_us)
{
    struct ev_count_wait w = {port, count};
    return cpu_wait_until(ev_count_reached, &w, timeout_us);
}

static inline bool ev_never(void* arg)
{
    (void)arg;
    return false;
}
/* Halts with interrupts on for `us`: lets anything that is on its way arrive (for "nothing came"). */
static inline void ev_quiet(uint64_t us) { cpu_wait_until(ev_never, NULL, us); }

/* Runs fn(arg) on every vCPU, the BSP last, and returns how many returned non-zero. */
static inline unsigned ev_on_each_cpu(long (*fn)(void*), void* arg)
{
    unsigned bad = 0;
    for (unsigned v = 1; v < ev_vcpus(); v++)
        bad += smp_run_on(v, fn, arg, 4 * EV_WAIT_US) != 0;
    return bad + (fn(arg) != 0);
}

/* Absolute deadlines (timers, poll timeouts) are PV clock system time, which must be the
 * hypervisor's own clock (HVMOP_get_time: Xen's NOW()). When they disagree, a deadline computed by
 * the guest lands somewhere else entirely: cases check first, to fail instead of hanging. Both are
 * read on this vCPU within one hypercall, so 10 ms is far more than the reads can explain. */
static inline bool ev_clock_agrees(void)
{
    struct xen_hvm_get_time t;
    uint64_t before = pvclock_ns();
    if (hypercall_hvm_op(HVMOP_get_time, &t) != 0)
        return false;
    uint64_t after = pvclock_ns();
    bool ok = t.now + 10000000ull >= before && t.now <= after + 10000000ull;
    if (!ok)
        printf("  PV clock %llu ns, HVMOP_get_time %llu ns: they must be one clock\n",
               (unsigned long long)before, (unsigned long long)t.now);
    return ok;
}

static inline void ev_clear_port(evtchn_port_t port)
{
    xen_evtchn_test_and_clear_pending(port);
    evtchn_reset_count(port);
}

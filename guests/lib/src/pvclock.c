/* PV clock, wallclock, PV timers and blocking sched_ops. */
#include "guest/pvclock.h"

#include "guest/guest.h"

static uint64_t mul_shr32(uint64_t a, uint32_t mul)
{
#if defined(__x86_64__)
    return (uint64_t)(((unsigned __int128)a * mul) >> 32);
#else
    return (((uint64_t)(uint32_t)a * mul) >> 32) + (uint64_t)(uint32_t)(a >> 32) * mul;
#endif
}

uint64_t pvclock_scale(const struct vcpu_time_info* t, uint64_t tsc)
{
    uint64_t delta = tsc - t->tsc_timestamp;
    if (t->tsc_shift < 0)
        delta >>= -t->tsc_shift;
    else
        delta <<= t->tsc_shift;
    return t->system_time + mul_shr32(delta, t->tsc_to_system_mul);
}

struct pvclock_sample pvclock_read(const volatile struct vcpu_time_info* t)
{
    struct vcpu_time_info copy;
    uint32_t version;
    uint64_t tsc;
    do {
        version = t->version;
        barrier(); /* x86 keeps loads in order; the compiler must too */
        copy.tsc_timestamp = t->tsc_timestamp;
        copy.system_time = t->system_time;
        copy.tsc_to_system_mul = t->tsc_to_system_mul;
        copy.tsc_shift = t->tsc_shift;
        copy.flags = t->flags;
        tsc = rdtsc();
        barrier();
    } while ((version & 1) || t->version != version);
    return (struct pvclock_sample){.ns = pvclock_scale(&copy, tsc), .version = version, .flags = copy.flags};
}

struct pvclock_sample pvclock_sample(void)
{
    struct vcpu_info* vi = evtchn_vcpu_info(smp_cpu_id());
    if (!vi)
        return (struct pvclock_sample){0, 0, 0};
    return pvclock_read(&vi->time);
}

uint64_t pvclock_ns(void) { return pvclock_sample().ns; }

int xen_wallclock(uint64_t* sec, uint32_t* nsec)
{
    volatile struct shared_info* s = xen_shared_info();
    if (!s)
        return -XEN_ENODEV;
    uint32_t version, lo, ns, hi;
    do {
        version = s->wc_version;
        barrier();
        lo = s->wc_sec;
        ns = s->wc_nsec;
#if defined(__x86_64__)
        hi = s->wc_sec_hi;
#else
        hi = s->arch.wc_sec_hi;
#endif
        barrier();
    } while ((version & 1) || s->wc_version != version);
    *sec = ((uint64_t)hi << 32) | lo;
    *nsec = ns;
    return 0;
}

int xen_set_singleshot_timer(uint64_t deadline_ns, uint32_t flags)
{
    struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = deadline_ns, .flags = flags};
    return (int)hypercall_vcpu_op(VCPUOP_set_singleshot_timer, smp_cpu_id(), &t);
}

int xen_stop_singleshot_timer(void)
{
    return (int)hypercall_vcpu_op(VCPUOP_stop_singleshot_timer, smp_cpu_id(), NULL);
}

int xen_set_periodic_timer(unsigned vcpu, uint64_t period_ns)
{
    struct vcpu_set_periodic_timer t = {.period_ns = period_ns};
    return (int)hypercall_vcpu_op(VCPUOP_set_periodic_timer, vcpu, &t);
}

int xen_stop_periodic_timer(unsigned vcpu) { return (int)hypercall_vcpu_op(VCPUOP_stop_periodic_timer, vcpu, NULL); }

int xen_set_timer_op(uint64_t deadline_ns)
{
#if defined(__x86_64__)
    return (int)XG_HCALL(XEN_HYPERCALL_set_timer_op, deadline_ns, 0, 0, 0, 0);
#else
    /* The 32-bit ABI splits the 64-bit deadline: low half first. */
    return (int)XG_HCALL(XEN_HYPERCALL_set_timer_op, (uint32_t)deadline_ns, (uint32_t)(deadline_ns >> 32), 0, 0, 0);
#endif
}

int xen_sched_block(void) { return (int)hypercall_sched_op(SCHEDOP_block, NULL); }

int xen_sched_poll(const evtchn_port_t* ports, unsigned nr, uint64_t timeout_ns)
{
    struct sched_poll p = {.ports = (evtchn_port_t*)ports, .nr_ports = nr, .timeout = timeout_ns};
    return (int)hypercall_sched_op(SCHEDOP_poll, &p);
}

/* Conformance: the PV clock. Every vCPU's vcpu_time_info is readable under its version seqlock,
 * carries XEN_PVCLOCK_TSC_STABLE_BIT and the TSC rate CPUID leaf 3 announces, and gives the
 * hypervisor's own system time (HVMOP_get_time). System time never goes backwards, also across
 * vCPUs: each vCPU reads it in a loop at CPL3 (natively, with lfence before rdtsc), and a value it
 * reads may never be below the largest any vCPU has read before. The tolerance is 0: with the
 * TSC-stable flag Xen promises one monotonic clock for the domain (that is what lets Linux skip its
 * cross-vCPU last_value clamp), and the loads and rdtsc are ordered, so an earlier read on another
 * vCPU really happened before. The wallclock must be a plausible date. Command line: vcpus=<n>. 64-bit. */
#include "evtchn_setup.h"

#define LOOPS 200000

static volatile uint64_t latest;
struct mono_stats {
    const volatile struct vcpu_time_info* t;
    unsigned long backwards, odd_versions, retries_exhausted;
    uint64_t worst_ns;
};
static struct mono_stats stats[SMP_MAX_CPUS];

/* Xen 4.19: xen/arch/x86/time.c, __update_vcpu_system_time (even version,
 * XEN_PVCLOCK_TSC_STABLE_BIT, public/xen.h). */
TEST_CASE(every_vcpu_has_a_stable_record)
{
    REQUIRE(ev_setup(false));
    uint32_t khz = cpuid(xen_info.cpuid_base + 3, 0).ecx;
    CHECK(khz != 0);
    struct shared_info* s = xen_shared_info();
    for (unsigned v = 0; v < XEN_LEGACY_MAX_VCPUS; v++) {
        const volatile struct vcpu_time_info* t = &s->vcpu_info[v].time;
        if (v >= ev_vcpus()) { /* no vCPU, no record */
            CHECK_EQ(t->tsc_to_system_mul, 0);
            continue;
        }
        struct pvclock_sample smp = pvclock_read(t);
        CHECK_EQ(smp.version & 1, 0);
        CHECK(smp.flags & XEN_PVCLOCK_TSC_STABLE_BIT);
        CHECK(t->tsc_to_system_mul != 0);
        /* One second of TSC ticks at the announced rate is one second of system time (0.1 %). */
        struct vcpu_time_info copy = {.tsc_to_system_mul = t->tsc_to_system_mul, .tsc_shift = t->tsc_shift};
        uint64_t ns = pvclock_scale(&copy, (uint64_t)khz * 1000);
        CHECK(ns > 999000000ull && ns < 1001000000ull);
    }
}

static long clock_agrees(void* arg)
{
    (void)arg;
    return CHECK(ev_clock_agrees()) ? 0 : 1;
}

/* Xen 4.19: xen/arch/x86/time.c, __update_vcpu_system_time; xen/arch/x86/hvm/hvm.c, do_hvm_op
 * (HVMOP_get_time). */
TEST_CASE(system_time_is_the_hypervisors_time)
{
    REQUIRE(xen_shared_info() != NULL);
    CHECK_EQ(ev_on_each_cpu(clock_agrees, NULL), 0);
}

static long mono_loop(void* arg)
{
    struct mono_stats* st = arg;
    const volatile struct vcpu_time_info* t = st->t;
    for (unsigned i = 0; i < LOOPS; i++) {
        uint64_t seen = __atomic_load_n(&latest, __ATOMIC_ACQUIRE);
        struct vcpu_time_info c;
        uint32_t version;
        unsigned tries = 0;
        uint64_t tsc;
        do {
            version = t->version;
            if (version & 1)
                st->odd_versions++;
            barrier();
            c.tsc_timestamp = t->tsc_timestamp;
            c.system_time = t->system_time;
            c.tsc_to_system_mul = t->tsc_to_system_mul;
            c.tsc_shift = t->tsc_shift;
            tsc = rdtsc_ordered(); /* after the load of `seen`, not speculated ahead of it */
            barrier();
        } while (((version & 1) || t->version != version) && ++tries < 1000);
        if (tries >= 1000) {
            st->retries_exhausted++;
            return 1;
        }
        uint64_t now = pvclock_scale(&c, tsc);
        if (now < seen) {
            st->backwards++;
            if (seen - now > st->worst_ns)
                st->worst_ns = seen - now;
        }
        atomic_max_u64(&latest, now);
    }
    return 0;
}

static long mono_at_cpl3(void* arg) { return guest_run_user(mono_loop, arg); }

/* Xen 4.19: xen/arch/x86/time.c (one system time for all vCPUs with a stable TSC). */
TEST_CASE(system_time_is_monotonic_across_vcpus)
{
    REQUIRE(xen_shared_info() != NULL);
    unsigned n = ev_vcpus();
    for (unsigned v = 0; v < n; v++) {
        memset(&stats[v], 0, sizeof(stats[v]));
        stats[v].t = &evtchn_vcpu_info(v)->time;
    }
    for (unsigned v = 1; v < n; v++)
        REQUIRE_EQ(smp_start_cpu(v, mono_at_cpl3, &stats[v]), 0);
    CHECK_EQ(mono_at_cpl3(&stats[0]), 0);
    for (unsigned v = 1; v < n; v++)
        CHECK_EQ(smp_wait(v, 20 * EV_WAIT_US), 0);
    for (unsigned v = 0; v < n; v++) {
        if (!CHECK_EQ(stats[v].backwards, 0))
            printf("  (vCPU %u saw time go back by up to %llu ns)\n", v, (unsigned long long)stats[v].worst_ns);
        CHECK_EQ(stats[v].retries_exhausted, 0); /* a version that stays odd */
    }
    CHECK(latest != 0);
}

/* Xen 4.19: xen/arch/x86/time.c, update_domain_wallclock_time (shared_info wc_sec / wc_nsec). */
TEST_CASE(wallclock_is_a_plausible_date)
{
    REQUIRE(xen_shared_info() != NULL);
    uint64_t sec, sec2;
    uint32_t nsec, nsec2;
    REQUIRE_EQ(xen_wallclock(&sec, &nsec), 0);
    CHECK(nsec < 1000000000u);
    CHECK_EQ(xen_shared_info()->wc_version & 1, 0);
    uint64_t now = sec + (pvclock_ns() + nsec) / 1000000000ull;
    CHECK(now > 1577836800ull); /* 2020-01-01 */
    CHECK(now < 4102444800ull); /* 2100-01-01 */
    /* Wall time at system time 0: it does not move while nobody sets the clock. */
    REQUIRE_EQ(xen_wallclock(&sec2, &nsec2), 0);
    CHECK_EQ(sec2, sec);
    CHECK_EQ(nsec2, nsec);
}

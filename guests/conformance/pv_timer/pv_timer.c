/* Conformance: the PV timers, on every vCPU, each firing VIRQ_TIMER on its own vCPU. Deadlines are
 * PV clock system time; a tick is never early (the handler's clock reading is at or after the
 * deadline) and comes within EV_WAIT_US. Xen 4.19 facts (xen/common/domain.c common_vcpu_op,
 * xen/common/sched/core.c):
 *  - set_singleshot_timer: only for the calling vCPU (-EINVAL, before the argument is read); a
 *    deadline already passed fires at once. DIFF sshottmr_future_etime: with VCPU_SSHOTTMR_future a
 *    past deadline is -ETIME and nothing fires, the flag's documented contract (public/vcpu.h, Xen up
 *    to 4.17); Xen 4.18+ ignores the flag and fires at once (commit 19c6cbd90965);
 *  - set_periodic_timer: any vCPU of the domain; period < 1 ms (0 included) or > STIME_DELTA_MAX
 *    (2^62 - 1) is -EINVAL; a tick is sent at once when none came within the last period;
 *  - set_timer_op: 0 stops the single-shot timer; a deadline more than 2^50 ns away (or negative)
 *    fires after 100 ms instead.
 * Command line: vcpus=<n>. 64-bit. */
#include "evtchn_setup.h"

#define MS 1000000ull
#define MAX_TICKS 16

static evtchn_port_t timer[SMP_MAX_CPUS];
static volatile uint64_t tick_ns[SMP_MAX_CPUS][MAX_TICKS];
static volatile unsigned long ticks[SMP_MAX_CPUS], wrong_cpu;

static void on_timer(evtchn_port_t port, void* arg)
{
    (void)port;
    unsigned me = (unsigned)(uintptr_t)arg;
    if (smp_cpu_id() != me)
        atomic_inc(&wrong_cpu);
    unsigned long n = ticks[me];
    if (n < MAX_TICKS)
        tick_ns[me][n] = pvclock_ns();
    ticks[me] = n + 1;
}

struct tick_wait {
    unsigned cpu;
    unsigned long count;
};
static bool ticked(void* arg)
{
    const struct tick_wait* w = arg;
    return ticks[w->cpu] >= w->count;
}
/* Waits for the cpu's tick number `count` (counted from 1) and returns its time, or 0. */
static uint64_t wait_tick(unsigned cpu, unsigned long count, uint64_t timeout_us)
{
    struct tick_wait w = {cpu, count};
    if (!cpu_wait_until(ticked, &w, timeout_us) || count > MAX_TICKS)
        return 0;
    return tick_ns[cpu][count - 1];
}

/* Resets the tick log after whatever is still on its way has arrived. */
static void quiet_and_reset(unsigned me)
{
    ev_quiet(5000);
    ticks[me] = 0;
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_virq (VIRQ_TIMER is per-vCPU). */
TEST_CASE(bind_virq_timer_on_every_vcpu)
{
    REQUIRE(ev_setup(true));
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        REQUIRE_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, v, &timer[v]), 0);
        struct evtchn_status st;
        CHECK_EQ(xen_evtchn_status(DOMID_SELF, timer[v], &st), 0);
        CHECK_EQ(st.status, EVTCHNSTAT_virq);
        CHECK_EQ(st.u.virq, VIRQ_TIMER);
        CHECK_EQ(st.vcpu, v);
        evtchn_register(timer[v], v, on_timer, (void*)(uintptr_t)v);
    }
    CHECK(ev_clock_agrees());
}

static bool system_time_past(void* arg) { return pvclock_ns() >= *(const uint64_t*)arg; }

/* First of the periodic cases: no periodic tick has come yet on vCPU 0, so the first one is due
 * (Xen's next tick is the last one plus a period: with none yet, that is long past once system time
 * is beyond a period, whatever the clock's origin). */
/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_set_periodic_timer); xen/common/sched/core.c,
 * vcpu_periodic_timer_work. */
TEST_CASE(periodic_timer_ticks_at_once_when_set)
{
    REQUIRE(timer[0] != 0);
    REQUIRE(ev_clock_agrees());
    /* A long period, so "at once" (within half of it) and "a period later" stay apart on a host
     * loaded enough to delay a delivery by tens of milliseconds. */
    const uint64_t period = 400 * MS, past = 2 * period;
    REQUIRE(cpu_wait_until(system_time_past, (void*)&past, 2 * period / 1000));
    quiet_and_reset(0);
    uint64_t start = pvclock_ns();
    REQUIRE_EQ(xen_set_periodic_timer(0, period), 0);
    uint64_t t = wait_tick(0, 1, 2 * period / 1000);
    CHECK(t != 0 && t < start + period / 2); /* not a period later */
    CHECK_EQ(xen_stop_periodic_timer(0), 0);
}

static long singleshot_on_time(void* arg)
{
    uint32_t flags = (uint32_t)(uintptr_t)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK(ev_clock_agrees()))
        return 1;
    quiet_and_reset(me);
    uint64_t deadline = pvclock_ns() + 3 * MS;
    if (!CHECK_EQ(xen_set_singleshot_timer(deadline, flags), 0))
        return 1;
    uint64_t t = wait_tick(me, 1, EV_WAIT_US);
    CHECK(t >= deadline);
    CHECK(t != 0 && t < deadline + EV_WAIT_US * 1000);
    ev_quiet(EV_QUIET_US);
    CHECK_EQ(ticks[me], 1); /* single-shot */
    return 0;
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_set_singleshot_timer);
 * xen/common/sched/core.c, vcpu_singleshot_timer_fn. */
TEST_CASE(singleshot_fires_after_its_deadline_once)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(singleshot_on_time, (void*)0), 0);
    CHECK_EQ(ev_on_each_cpu(singleshot_on_time, (void*)(uintptr_t)VCPU_SSHOTTMR_future), 0);
    CHECK_EQ(wrong_cpu, 0);
}

static long singleshot_in_the_past(void* arg)
{
    uint32_t flags = (uint32_t)(uintptr_t)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK(ev_clock_agrees()))
        return 1;
    quiet_and_reset(me);
    uint64_t now = pvclock_ns();
    if (!CHECK_EQ(xen_set_singleshot_timer(now - MS, flags), 0))
        return 1; /* nothing to wait for */
    uint64_t t = wait_tick(me, 1, EV_WAIT_US);
    CHECK(t != 0 && t < now + 200 * MS); /* at once, not at some later deadline */
    ev_quiet(EV_QUIET_US);
    CHECK_EQ(ticks[me], 1);
    return 0;
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_set_singleshot_timer: a past deadline fires at
 * once). */
TEST_CASE(singleshot_with_a_past_deadline_fires_at_once)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(singleshot_in_the_past, (void*)0), 0);
}

static long singleshot_future_in_the_past(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK(ev_clock_agrees()))
        return 1;
    quiet_and_reset(me);
    if (me == 0)
        TEST_DIFF(sshottmr_future_etime, "a past deadline with VCPU_SSHOTTMR_future is -ETIME (Xen 4.18+: fires)");
    CHECK_EQ(xen_set_singleshot_timer(pvclock_ns() - MS, VCPU_SSHOTTMR_future), -XEN_ETIME);
    ev_quiet(EV_QUIET_US);
    CHECK_EQ(ticks[me], 0); /* refused: nothing was armed */
    return 0;
}

/* Xen 4.19: xen/include/public/vcpu.h (VCPU_SSHOTTMR_future); DIFF sshottmr_future_etime. */
TEST_CASE(sshottmr_future_with_a_past_deadline_is_etime)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(singleshot_future_in_the_past, NULL), 0);
}

static long stops(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK(ev_clock_agrees()))
        return 1;
    quiet_and_reset(me);
    CHECK_EQ(xen_set_singleshot_timer(pvclock_ns() + 5 * MS, 0), 0);
    CHECK_EQ(xen_stop_singleshot_timer(), 0);
    CHECK_EQ(xen_set_timer_op(pvclock_ns() + 5 * MS), 0);
    CHECK_EQ(xen_set_timer_op(0), 0);
    CHECK_EQ(xen_set_periodic_timer(me, 2 * MS), 0);
    CHECK_EQ(xen_stop_periodic_timer(me), 0);
    quiet_and_reset(me); /* a periodic tick sent at once may still land */
    ev_quiet(30000);
    CHECK_EQ(ticks[me], 0);
    return 0;
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_stop_singleshot_timer / stop_periodic_timer). */
TEST_CASE(stopped_timers_stay_silent)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(stops, NULL), 0);
}

static long timer_op(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK(ev_clock_agrees()))
        return 1;
    quiet_and_reset(me);
    uint64_t deadline = pvclock_ns() + 3 * MS;
    if (!CHECK_EQ(xen_set_timer_op(deadline), 0))
        return 1;
    uint64_t t = wait_tick(me, 1, EV_WAIT_US);
    CHECK(t >= deadline);
    CHECK(t != 0);
    return 0;
}

/* Xen 4.19: xen/common/sched/core.c, do_set_timer_op. */
TEST_CASE(set_timer_op_fires_after_its_deadline)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(timer_op, NULL), 0);
}

/* Xen 4.19: xen/common/sched/core.c, do_set_timer_op (offset > (1 << 50) or negative deadline:
 * NOW() + MILLISECS(100)). */
TEST_CASE(set_timer_op_far_future_fires_after_100ms)
{
    REQUIRE(timer[0] != 0);
    REQUIRE(ev_clock_agrees());
    uint64_t deadlines[2] = {pvclock_ns() + (1ull << 51), 1ull << 63}; /* far away; "negative" */
    for (unsigned i = 0; i < 2; i++) {
        quiet_and_reset(0);
        uint64_t now = pvclock_ns();
        CHECK_EQ(xen_set_timer_op(deadlines[i]), 0);
        uint64_t t = wait_tick(0, 1, EV_WAIT_US);
        CHECK(t >= now + 100 * MS);
        CHECK(t != 0 && t < now + 1000 * MS);
    }
}

static long periodic(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    const uint64_t period = 2 * MS;
    if (!CHECK(ev_clock_agrees()))
        return 1;
    quiet_and_reset(me);
    uint64_t start = pvclock_ns();
    if (!CHECK_EQ(xen_set_periodic_timer(me, period), 0))
        return 1;
    for (unsigned k = 1; k <= 5; k++) {
        uint64_t t = wait_tick(me, k, EV_WAIT_US);
        /* Each tick is due a period after the one before, the first at once: never earlier. */
        if (!CHECK(t >= start + (k - 1) * period))
            printf("  (tick %u at +%llu ns)\n", k, (unsigned long long)(t - start));
    }
    CHECK_EQ(xen_stop_periodic_timer(me), 0);
    quiet_and_reset(me);
    ev_quiet(EV_QUIET_US);
    CHECK_EQ(ticks[me], 0);
    return 0;
}

/* Xen 4.19: xen/common/sched/core.c, vcpu_periodic_timer_work. */
TEST_CASE(periodic_timer_ticks_never_early_until_stopped)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(periodic, NULL), 0);
    CHECK_EQ(wrong_cpu, 0);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_set_periodic_timer has no v == current check). */
TEST_CASE(periodic_timer_of_another_vcpu)
{
    if (ev_vcpus() < 2)
        TEST_SKIP("needs 2 vCPUs");
    REQUIRE(timer[0] != 0);
    for (unsigned v = 1; v < ev_vcpus(); v++) {
        ticks[v] = 0;
        ticks[0] = 0;
        CHECK_EQ(xen_set_periodic_timer(v, 2 * MS), 0);
        CHECK(wait_tick(v, 3, EV_WAIT_US) != 0); /* ticks on v, handled there */
        CHECK_EQ(xen_stop_periodic_timer(v), 0);
        ev_quiet(EV_QUIET_US);
        CHECK_EQ(ticks[0], 0);
        unsigned long after_stop = ticks[v];
        ev_quiet(EV_QUIET_US);
        CHECK_EQ(ticks[v], after_stop);
    }
    CHECK_EQ(wrong_cpu, 0);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (period < MILLISECS(1) or > STIME_DELTA_MAX: -EINVAL;
 * singleshot of another vCPU: -EINVAL). */
TEST_CASE(timer_arguments_xen_refuses)
{
    REQUIRE(timer[0] != 0);
    unsigned n = ev_vcpus();
    CHECK_EQ(xen_set_periodic_timer(0, 0), -XEN_EINVAL);
    CHECK_EQ(xen_set_periodic_timer(0, MS - 1), -XEN_EINVAL);
    CHECK_EQ(xen_set_periodic_timer(0, 1ull << 62), -XEN_EINVAL);
    CHECK_EQ(xen_set_periodic_timer(0, 1ull << 63), -XEN_EINVAL);
    CHECK_EQ(xen_set_periodic_timer(n, 2 * MS), -XEN_ENOENT);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_set_periodic_timer, 0, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_set_singleshot_timer, 0, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_set_singleshot_timer, n, NULL), -XEN_ENOENT);
    /* Up to STIME_DELTA_MAX is accepted. */
    CHECK_EQ(xen_set_periodic_timer(0, (1ull << 62) - 1), 0);
    CHECK_EQ(xen_stop_periodic_timer(0), 0);
    for (unsigned v = 1; v < n; v++) {
        /* Another vCPU's single-shot timer: -EINVAL before the (bad) argument is looked at. */
        CHECK_EQ(hypercall_vcpu_op(VCPUOP_set_singleshot_timer, v, (void*)CONF_BAD_GPA), -XEN_EINVAL);
        CHECK_EQ(hypercall_vcpu_op(VCPUOP_stop_singleshot_timer, v, NULL), -XEN_EINVAL);
    }
    quiet_and_reset(0);
}

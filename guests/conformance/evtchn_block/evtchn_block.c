/* Conformance: SCHEDOP_block and SCHEDOP_poll on every vCPU.
 *
 * Block is used as an HVM guest can use it safely: with interrupts on, so an event that comes
 * before the hypercall is taken by the handler and one that comes after ends the block (on Xen a
 * blocked HVM vCPU with IF clear and evtchn_upcall_pending already set is not woken by further
 * events: vcpu_mark_events_pending only kicks on the 0 -> 1 edge). A LAPIC timer is armed as a
 * safety net, so a lost wake-up shows as a slow, failed case instead of a hang.
 * Poll runs with interrupts off: it wakes on a listed port becoming pending, masked or not (Xen's
 * evtchn_check_pollers), a poll of several ports or of none on any event of the domain, and at its
 * timeout. Events come from the vCPU's own PV timer, or from vCPU 0. Command line: vcpus=<n>. 64-bit. */
#include "evtchn_setup.h"

#define MS 1000000ull

static evtchn_port_t timer[SMP_MAX_CPUS], ipi[SMP_MAX_CPUS];
static volatile bool blocking[SMP_MAX_CPUS];

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_virq / evtchn_bind_ipi. */
TEST_CASE(setup_timer_and_ipi_ports)
{
    REQUIRE(ev_setup(true));
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        REQUIRE_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, v, &timer[v]), 0);
        REQUIRE_EQ(xen_evtchn_bind_ipi(v, &ipi[v]), 0);
        evtchn_register(timer[v], v, NULL, NULL);
        evtchn_register(ipi[v], v, NULL, NULL);
    }
}

/* sti; SCHEDOP_block until `port` has been delivered once more. 0 when it was. */
static long block_until_event(evtchn_port_t port)
{
    unsigned long before = evtchn_count(port);
    blocking[smp_cpu_id()] = true;
    for (unsigned tries = 0; tries < 100 && evtchn_count(port) == before; tries++) {
        lapic_timer_oneshot_us(EV_WAIT_US);
        irq_enable();
        CHECK_EQ(xen_sched_block(), 0);
        irq_disable();
    }
    lapic_timer_stop();
    blocking[smp_cpu_id()] = false;
    return evtchn_count(port) > before ? 0 : 1;
}

static long block_on_own_ticks(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK_EQ(xen_set_periodic_timer(me, 2 * MS), 0))
        return 1;
    long rc = block_until_event(timer[me]);
    CHECK_EQ(rc, 0);
    CHECK_EQ(xen_stop_periodic_timer(me), 0);
    return rc;
}

/* Xen 4.19: xen/common/sched/core.c, vcpu_block_enable_events (an event unblocks: vcpu_unblock). */
TEST_CASE(block_ends_on_a_timer_event)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(block_on_own_ticks, NULL), 0);
    ev_quiet(EV_QUIET_US); /* let a last tick land before the next case */
}

static long block_on_ipi(void* arg)
{
    (void)arg;
    return block_until_event(ipi[smp_cpu_id()]);
}

static bool blocked_cpu_done(void* arg) { return !blocking[(uintptr_t)arg]; }

/* Xen 4.19: xen/common/sched/core.c, vcpu_block_enable_events; xen/common/event_2l.c,
 * evtchn_2l_set_pending. */
TEST_CASE(block_ends_on_an_event_from_another_vcpu)
{
    if (ev_vcpus() < 2)
        TEST_SKIP("needs 2 vCPUs");
    for (unsigned v = 1; v < ev_vcpus(); v++) {
        blocking[v] = true;
        REQUIRE_EQ(smp_start_cpu(v, block_on_ipi, NULL), 0);
        /* Events until it is back: any one sent after it blocked must end the block. */
        for (unsigned i = 0; i < 2000 && blocking[v]; i++) {
            CHECK_EQ(xen_evtchn_send(ipi[v]), 0);
            cpu_wait_until(blocked_cpu_done, (void*)(uintptr_t)v, 1000);
        }
        CHECK_EQ(smp_wait(v, EV_WAIT_US), 0);
    }
}

struct poll_result {
    long rc;
    uint64_t start, end;
};

/* Polls `ports` with interrupts off, a single-shot timer event due after timer_ms (0: none). */
static struct poll_result poll_with_timer(const evtchn_port_t* ports, unsigned n, uint64_t timeout_ms,
                                          uint64_t timer_ms)
{
    struct poll_result r;
    irq_disable();
    r.start = pvclock_ns();
    if (timer_ms)
        CHECK_EQ(xen_set_singleshot_timer(r.start + timer_ms * MS, 0), 0);
    r.rc = xen_sched_poll(ports, n, r.start + timeout_ms * MS);
    r.end = pvclock_ns();
    return r;
}

static void drain_timer(unsigned me)
{
    xen_stop_singleshot_timer();
    xen_evtchn_test_and_clear_pending(timer[me]);
    xen_evtchn_unmask(timer[me]);
    evtchn_do_upcall(); /* leaves evtchn_upcall_pending clear */
}

static long poll_listed(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK(ev_clock_agrees())) /* its deadlines would be meaningless */
        return 1;
    evtchn_port_t several[3] = {ipi[me], timer[me], ipi[me]};
    struct poll_result r = poll_with_timer(several, 3, 2000, 3);
    CHECK_EQ(r.rc, 0);
    CHECK(r.end < r.start + 1900 * MS); /* woken, not timed out */
    CHECK(xen_evtchn_is_pending(timer[me]));
    drain_timer(me);
    xen_evtchn_mask(timer[me]); /* Xen wakes pollers whatever the mask */
    r = poll_with_timer(&timer[me], 1, 2000, 3);
    CHECK_EQ(r.rc, 0);
    CHECK(r.end < r.start + 1900 * MS);
    CHECK(xen_evtchn_is_pending(timer[me]));
    drain_timer(me);
    return 0;
}

/* Xen 4.19: xen/common/sched/core.c, do_poll; xen/common/event_channel.c, evtchn_port_set_pending
 * (wakes pollers whether masked or not). */
TEST_CASE(poll_wakes_on_a_listed_port_masked_or_not)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(poll_listed, NULL), 0);
}

static long poll_timeouts(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK(ev_clock_agrees())) /* its deadlines would be meaningless */
        return 1;
    struct poll_result r = poll_with_timer(&ipi[me], 1, 5, 0);
    CHECK_EQ(r.rc, 0);
    CHECK(r.end >= r.start + 5 * MS);   /* not before the timeout */
    CHECK(r.end < r.start + 1000 * MS); /* but at it */
    CHECK(!xen_evtchn_is_pending(ipi[me]));
    /* A masked event on a port that is not listed neither ends a one-port poll. */
    xen_evtchn_mask(timer[me]);
    r = poll_with_timer(&ipi[me], 1, 30, 5);
    CHECK_EQ(r.rc, 0);
    CHECK(r.end >= r.start + 30 * MS);
    CHECK(xen_evtchn_is_pending(timer[me]));
    drain_timer(me);
    return 0;
}

/* Xen 4.19: xen/common/sched/core.c, do_poll (sched_poll.timeout: poll_timer). */
TEST_CASE(poll_times_out_when_nothing_listed_comes)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(poll_timeouts, NULL), 0);
}

static long poll_nothing(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK(ev_clock_agrees())) /* its deadlines would be meaningless */
        return 1;
    xen_evtchn_mask(timer[me]);
    /* 10 ms: far longer than the hypercall takes to start waiting. */
    struct poll_result r = poll_with_timer(NULL, 0, 2000, 10);
    CHECK_EQ(r.rc, 0);
    CHECK(r.end >= r.start + 10 * MS);
    CHECK(r.end < r.start + 1900 * MS);
    drain_timer(me);
    return 0;
}

/* Xen 4.19: xen/common/sched/core.c, do_poll (nr_ports 0: any event ends it). */
TEST_CASE(poll_of_no_ports_wakes_on_any_event)
{
    REQUIRE(timer[0] != 0);
    CHECK_EQ(ev_on_each_cpu(poll_nothing, NULL), 0);
}

static long poll_for_ipi(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    if (!CHECK(ev_clock_agrees())) /* its deadlines would be meaningless */
        return 1;
    xen_evtchn_mask(ipi[me]);
    blocking[me] = true; /* the sender waits for this; sent before the poll, it is found pending */
    struct poll_result r = poll_with_timer(&ipi[me], 1, 2000, 0);
    blocking[me] = false;
    CHECK_EQ(r.rc, 0);
    CHECK(r.end < r.start + 1900 * MS);
    CHECK(xen_evtchn_test_and_clear_pending(ipi[me]));
    xen_evtchn_unmask(ipi[me]);
    return 0;
}

static bool cpu_blocking(void* arg) { return blocking[(uintptr_t)arg]; }

/* Xen 4.19: xen/common/sched/core.c, do_poll; xen/common/event_channel.c, evtchn_port_set_pending
 * (vcpu_unblock of pollers). */
TEST_CASE(poll_wakes_on_an_event_from_another_vcpu)
{
    if (ev_vcpus() < 2)
        TEST_SKIP("needs 2 vCPUs");
    REQUIRE(ev_clock_agrees());
    for (unsigned v = 1; v < ev_vcpus(); v++) {
        REQUIRE_EQ(smp_start_cpu(v, poll_for_ipi, NULL), 0);
        CHECK(cpu_wait_until(cpu_blocking, (void*)(uintptr_t)v, EV_WAIT_US));
        CHECK_EQ(xen_evtchn_send(ipi[v]), 0);
        CHECK_EQ(smp_wait(v, EV_WAIT_US), 0);
    }
}

/* Xen 4.19: xen/common/sched/core.c, do_poll (port_is_valid per port in order: -EINVAL; a pending
 * one ends the loop). */
TEST_CASE(poll_checks_ports_in_order)
{
    REQUIRE(timer[0] != 0);
    evtchn_port_t closed;
    REQUIRE_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &closed), 0);
    REQUIRE_EQ(xen_evtchn_close(closed), 0);
    evtchn_port_t zero[1] = {0}, free_port[1] = {closed};
    CHECK_EQ(xen_sched_poll(zero, 1, 1), -XEN_EINVAL);      /* port 0 is reserved, not usable */
    CHECK_EQ(xen_sched_poll(free_port, 1, 1), -XEN_EINVAL); /* nor is a closed one */
    xen_evtchn_mask(ipi[0]);
    CHECK_EQ(xen_evtchn_send(ipi[0]), 0);
    evtchn_port_t pending_first[2] = {ipi[0], 0}, bad_first[2] = {0, ipi[0]};
    CHECK_EQ(xen_sched_poll(pending_first, 2, 1), 0); /* found pending before the bad port */
    CHECK_EQ(xen_sched_poll(bad_first, 2, 1), -XEN_EINVAL);
    xen_evtchn_test_and_clear_pending(ipi[0]);
    xen_evtchn_unmask(ipi[0]);
}

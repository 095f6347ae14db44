/* Conformance: IPIs as event channels (EVTCHNOP_bind_ipi + send) between every ordered pair of
 * vCPUs, a vCPU and itself included: first with the domain-wide callback vector, then with per-vCPU
 * upcall vectors (which take over), then all vCPUs at once around a ring. Each ping is answered on
 * the pinger's own ack port before the next is sent, so every count is exact. Command line:
 * vcpus=<n>. 64-bit. */
#include "evtchn_setup.h"

#define ROUNDS 8

static evtchn_port_t ping[SMP_MAX_CPUS], ack[SMP_MAX_CPUS];
static volatile unsigned long pings[SMP_MAX_CPUS], acks[SMP_MAX_CPUS], wrong_cpu;
static volatile unsigned pinger; /* whom a ping is answered to (pairs run one at a time) */
static volatile bool ring;       /* all at once: CPU v is pinged by v - 1 */

static void ping_handler(evtchn_port_t port, void* arg)
{
    (void)port;
    unsigned me = (unsigned)(uintptr_t)arg, n = ev_vcpus();
    if (smp_cpu_id() != me)
        atomic_inc(&wrong_cpu);
    atomic_inc(&pings[me]);
    xen_evtchn_send(ack[ring ? (me + n - 1) % n : pinger]);
}

static void ack_handler(evtchn_port_t port, void* arg)
{
    (void)port;
    unsigned me = (unsigned)(uintptr_t)arg;
    if (smp_cpu_id() != me)
        atomic_inc(&wrong_cpu);
    atomic_inc(&acks[me]);
}

struct ack_wait {
    unsigned cpu;
    unsigned long target;
};
static bool acked(void* arg)
{
    const struct ack_wait* w = arg;
    return acks[w->cpu] >= w->target;
}

/* On the pinging CPU: ROUNDS pings to `arg`, each waited for; returns the pings never answered. */
static long ping_rounds(void* arg)
{
    unsigned to = (unsigned)(uintptr_t)arg, me = smp_cpu_id();
    struct ack_wait w = {me, acks[me]};
    long missed = 0;
    for (unsigned i = 0; i < ROUNDS; i++) {
        w.target++;
        if (xen_evtchn_send(ping[to]) != 0 || !cpu_wait_until(acked, &w, EV_WAIT_US))
            missed++;
    }
    return missed;
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_ipi (the port notifies the vCPU it was bound
 * on). */
TEST_CASE(bind_ipi_on_every_vcpu)
{
    REQUIRE(ev_setup(false));
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        REQUIRE_EQ(xen_evtchn_bind_ipi(v, &ping[v]), 0);
        REQUIRE_EQ(xen_evtchn_bind_ipi(v, &ack[v]), 0);
        CHECK_NE(ping[v], ack[v]);
        struct evtchn_status st;
        CHECK_EQ(xen_evtchn_status(DOMID_SELF, ping[v], &st), 0);
        CHECK_EQ(st.status, EVTCHNSTAT_ipi);
        CHECK_EQ(st.vcpu, v);
        evtchn_register(ping[v], v, ping_handler, (void*)(uintptr_t)v);
        evtchn_register(ack[v], v, ack_handler, (void*)(uintptr_t)v);
    }
}

static void every_ordered_pair(void)
{
    unsigned n = ev_vcpus();
    for (unsigned from = 0; from < n; from++) {
        for (unsigned to = 0; to < n; to++) {
            unsigned long p0 = pings[to], a0 = acks[from];
            pinger = from;
            long missed = smp_run_on(from, ping_rounds, (void*)(uintptr_t)to, 4 * EV_WAIT_US);
            bool ok = CHECK_EQ(missed, 0);
            ok &= CHECK_EQ(pings[to] - p0, ROUNDS);
            ok &= CHECK_EQ(acks[from] - a0, ROUNDS);
            if (!ok)
                printf("  (vCPU %u -> vCPU %u)\n", from, to);
        }
    }
    CHECK_EQ(wrong_cpu, 0);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_send (ECS_IPI: evtchn_port_set_pending on
 * notify_vcpu_id); xen/arch/x86/hvm/irq.c, hvm_assert_evtchn_irq. */
TEST_CASE(every_ordered_pair_with_callback_vector)
{
    REQUIRE(ping[0] != 0);
    REQUIRE_EQ(evtchn_use_callback_vector(EV_CALLBACK_VECTOR), 0);
    unsigned long before = guest_irq_count(EV_CALLBACK_VECTOR);
    every_ordered_pair();
    /* At least one per round trip (a self ping and its ack may share one upcall). */
    CHECK(guest_irq_count(EV_CALLBACK_VECTOR) - before >= (unsigned long)ROUNDS * ev_vcpus() * ev_vcpus());
}

/* Xen 4.19: xen/arch/x86/hvm/hvm.c, hvmop_set_evtchn_upcall_vector; xen/arch/x86/hvm/irq.c,
 * hvm_assert_evtchn_irq (the per-vCPU vector is used when set). */
TEST_CASE(every_ordered_pair_with_percpu_vector)
{
    REQUIRE(ping[0] != 0);
    for (unsigned v = 0; v < ev_vcpus(); v++)
        REQUIRE_EQ(evtchn_use_percpu_vector(v, EV_UPCALL_VECTOR), 0);
    ev_quiet(EV_QUIET_US);
    unsigned long cb = guest_irq_count(EV_CALLBACK_VECTOR), pc = guest_irq_count(EV_UPCALL_VECTOR);
    every_ordered_pair();
    /* The per-vCPU vector takes priority over the callback vector, as on Xen. */
    CHECK_EQ(guest_irq_count(EV_CALLBACK_VECTOR) - cb, 0);
    CHECK(guest_irq_count(EV_UPCALL_VECTOR) - pc >= (unsigned long)ROUNDS * ev_vcpus() * ev_vcpus());
}

static long ring_rounds(void* arg)
{
    (void)arg;
    return ping_rounds((void*)(uintptr_t)((smp_cpu_id() + 1) % ev_vcpus()));
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_send (ECS_IPI). */
TEST_CASE(all_vcpus_at_once_around_a_ring)
{
    REQUIRE(ping[0] != 0);
    unsigned n = ev_vcpus();
    unsigned long p0[SMP_MAX_CPUS], a0[SMP_MAX_CPUS];
    for (unsigned v = 0; v < n; v++) {
        p0[v] = pings[v];
        a0[v] = acks[v];
    }
    ring = true;
    for (unsigned v = 1; v < n; v++)
        REQUIRE_EQ(smp_start_cpu(v, ring_rounds, NULL), 0);
    CHECK_EQ(ring_rounds(NULL), 0);
    for (unsigned v = 1; v < n; v++)
        CHECK_EQ(smp_wait(v, 4 * EV_WAIT_US), 0);
    ring = false;
    for (unsigned v = 0; v < n; v++) {
        CHECK_EQ(pings[v] - p0[v], ROUNDS);
        CHECK_EQ(acks[v] - a0[v], ROUNDS);
    }
    CHECK_EQ(wrong_cpu, 0);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_close then evtchn_send (ECS_FREE: -EINVAL). */
TEST_CASE(closed_ipi_ports_are_gone)
{
    REQUIRE(ping[0] != 0);
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        evtchn_unregister(ping[v]);
        evtchn_unregister(ack[v]);
        CHECK_EQ(xen_evtchn_close(ping[v]), 0);
        CHECK_EQ(xen_evtchn_close(ack[v]), 0);
        struct evtchn_status st;
        CHECK_EQ(xen_evtchn_status(DOMID_SELF, ping[v], &st), 0);
        CHECK_EQ(st.status, EVTCHNSTAT_closed);
        CHECK_EQ(xen_evtchn_send(ping[v]), -XEN_EINVAL);
    }
}

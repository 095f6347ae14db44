/* Conformance: masked ports. An event sent on a masked port stays pending, raises no upcall on any
 * vCPU, and is delivered exactly once when EVTCHNOP_unmask clears the mask, on the port's notify vCPU
 * (whoever unmasks). EVTCHNOP_bind_vcpu moves delivery, also of an event already pending. Xen's
 * unmask only delivers if it is the one clearing the mask bit (xen/common/event_2l.c,
 * evtchn_2l_unmask). Ports are >= 64 so the selector bit differs between the 32- and 64-bit layouts.
 * Command line: vcpus=<n>. Built 32- and 64-bit. */
#include "evtchn_setup.h"

#define FIRST_TEST_PORT 70

static evtchn_port_t ipi[SMP_MAX_CPUS];
static evtchn_port_t loop_local, loop_remote; /* an interdomain loopback pair */
static unsigned long upcalls0[SMP_MAX_CPUS];

static void snapshot_upcalls(void)
{
    for (unsigned v = 0; v < ev_vcpus(); v++)
        upcalls0[v] = smp_cpu(v)->upcalls;
}

/* No vCPU but `target` (none when target is -1) took an upcall since the snapshot. */
static void check_upcalls_only_on(int target)
{
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        unsigned long delta = smp_cpu(v)->upcalls - upcalls0[v];
        if ((int)v == target)
            CHECK(delta >= 1);
        else if (!CHECK_EQ(delta, 0))
            printf("  (an upcall on vCPU %u)\n", v);
    }
}

/* Xen 4.19: xen/common/event_channel.c, get_free_port (lowest free port first). */
TEST_CASE(setup_ports_beyond_the_first_word)
{
    REQUIRE(ev_setup(true));
    evtchn_port_t filler = 0;
    while (filler < FIRST_TEST_PORT)
        REQUIRE_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &filler), 0);
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        REQUIRE_EQ(xen_evtchn_bind_ipi(v, &ipi[v]), 0);
        CHECK(ipi[v] > FIRST_TEST_PORT);
        evtchn_register(ipi[v], v, NULL, NULL);
    }
}

static long unmask_here(void* arg) { return xen_evtchn_unmask((evtchn_port_t)(uintptr_t)arg); }

static void masked_send_then_unmask(unsigned v, bool unmask_on_target)
{
    evtchn_port_t p = ipi[v];
    ev_clear_port(p);
    xen_evtchn_mask(p);
    ev_quiet(EV_QUIET_US);
    snapshot_upcalls();
    CHECK_EQ(xen_evtchn_send(p), 0);
    CHECK_EQ(xen_evtchn_send(p), 0); /* a second event on a pending port adds nothing */
    CHECK(xen_evtchn_is_pending(p));
    ev_quiet(EV_QUIET_US);
    CHECK_EQ(evtchn_count(p), 0);
    check_upcalls_only_on(-1);
    if (unmask_on_target)
        CHECK_EQ(smp_run_on(v, unmask_here, (void*)(uintptr_t)p, EV_WAIT_US), 0);
    else
        CHECK_EQ(xen_evtchn_unmask(p), 0);
    CHECK(!xen_evtchn_is_masked(p));
    CHECK(ev_wait_count(p, 1, EV_WAIT_US));
    ev_quiet(EV_QUIET_US);
    CHECK_EQ(evtchn_count(p), 1);
    CHECK_EQ(evtchn_last_cpu(p), v);
    CHECK(!xen_evtchn_is_pending(p));
    check_upcalls_only_on((int)v);
}

/* Xen 4.19: xen/common/event_2l.c, evtchn_2l_set_pending / evtchn_2l_unmask. */
TEST_CASE(masked_send_is_delivered_once_on_unmask)
{
    REQUIRE(ipi[0] != 0);
    for (unsigned v = 0; v < ev_vcpus(); v++)
        masked_send_then_unmask(v, false);
}

/* Xen 4.19: xen/common/event_2l.c, evtchn_2l_unmask (the upcall goes to the port's notify vCPU). */
TEST_CASE(unmask_on_the_target_vcpu)
{
    REQUIRE(ipi[0] != 0);
    for (unsigned v = 0; v < ev_vcpus(); v++)
        masked_send_then_unmask(v, true);
}

/* Xen 4.19: xen/common/event_2l.c, evtchn_2l_unmask (only a pending port raises the selector). */
TEST_CASE(unmask_with_nothing_pending_delivers_nothing)
{
    REQUIRE(ipi[0] != 0);
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        ev_clear_port(ipi[v]);
        xen_evtchn_mask(ipi[v]);
        snapshot_upcalls();
        CHECK_EQ(xen_evtchn_unmask(ipi[v]), 0);
        ev_quiet(EV_QUIET_US);
        CHECK_EQ(evtchn_count(ipi[v]), 0);
        check_upcalls_only_on(-1);
    }
}

/* Xen 4.19: xen/common/event_2l.c, evtchn_2l_unmask (guest_test_and_clear_bit on a clear mask does
 * nothing). */
TEST_CASE(unmask_of_a_mask_the_guest_cleared_delivers_nothing)
{
    REQUIRE(ipi[0] != 0);
    unsigned v = ev_vcpus() - 1;
    evtchn_port_t p = ipi[v];
    ev_clear_port(p);
    xen_evtchn_mask(p);
    CHECK_EQ(xen_evtchn_send(p), 0);
    xen_evtchn_unmask_local(p); /* the guest's own clear: Xen's test-and-clear then finds it clear */
    snapshot_upcalls();
    CHECK_EQ(xen_evtchn_unmask(p), 0);
    ev_quiet(EV_QUIET_US);
    CHECK_EQ(evtchn_count(p), 0);
    CHECK(xen_evtchn_is_pending(p));
    check_upcalls_only_on(-1);
    ev_clear_port(p);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_vcpu (notify_vcpu_id changes for
 * unbound/interdomain ports). */
TEST_CASE(bind_vcpu_moves_delivery)
{
    REQUIRE(ipi[0] != 0);
    REQUIRE_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &loop_local), 0);
    evtchn_register(loop_local, 0, NULL, NULL);
    evtchn_port_t remote;
    REQUIRE_EQ(xen_evtchn_bind_interdomain(DOMID_SELF, loop_local, &remote), 0);
    loop_remote = remote;
    /* Xen sets the new end pending ("we may have lost notifications"): it arrives on vCPU 0 once
     * this CPU takes interrupts again, after the registration. */
    evtchn_register(remote, 0, NULL, NULL);
    CHECK(ev_wait_count(remote, 1, EV_WAIT_US));
    CHECK_EQ(evtchn_count(loop_local), 0);
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned v = 0; v < ev_vcpus(); v++) {
            unsigned long before = evtchn_count(loop_local);
            REQUIRE_EQ(xen_evtchn_bind_vcpu(loop_local, v), 0);
            evtchn_register(loop_local, v, NULL, NULL);
            struct evtchn_status st;
            CHECK_EQ(xen_evtchn_status(DOMID_SELF, loop_local, &st), 0);
            CHECK_EQ(st.vcpu, v);
            CHECK_EQ(xen_evtchn_send(remote), 0);
            CHECK(ev_wait_count(loop_local, before + 1, EV_WAIT_US));
            CHECK_EQ(evtchn_last_cpu(loop_local), v);
        }
    }
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_vcpu; xen/common/event_2l.c, evtchn_2l_unmask
 * (delivered on the new vCPU). */
TEST_CASE(pending_masked_event_follows_bind_vcpu)
{
    REQUIRE(loop_remote != 0);
    unsigned to = ev_vcpus() > 1 ? 1 : 0;
    REQUIRE_EQ(xen_evtchn_bind_vcpu(loop_local, 0), 0);
    evtchn_register(loop_local, 0, NULL, NULL);
    ev_clear_port(loop_local);
    xen_evtchn_mask(loop_local);
    CHECK_EQ(xen_evtchn_send(loop_remote), 0);
    CHECK(xen_evtchn_is_pending(loop_local));
    REQUIRE_EQ(xen_evtchn_bind_vcpu(loop_local, to), 0);
    evtchn_register(loop_local, to, NULL, NULL);
    snapshot_upcalls();
    CHECK_EQ(xen_evtchn_unmask(loop_local), 0);
    CHECK(ev_wait_count(loop_local, 1, EV_WAIT_US));
    ev_quiet(EV_QUIET_US);
    CHECK_EQ(evtchn_count(loop_local), 1);
    CHECK_EQ(evtchn_last_cpu(loop_local), to);
    check_upcalls_only_on((int)to);
}

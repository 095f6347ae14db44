/* Conformance: running out of ports. The 2-level ABI has 4096 ports for a 64-bit guest (1024 for a
 * 32-bit one), and a domain may use up to its max_evtchn_port, 1023 unless the toolstack says
 * otherwise (xl's event_channels=): ports 1..1023. Xen hands out the lowest free port
 * (xen/common/event_channel.c get_free_port); once all are taken every way of getting one is
 * -ENOSPC, and a closed port is the next one given. EVTCHNOP_reset closes them all, the
 * toolstack's console and xenstore channels included. Command line: vcpus=<n>. 64-bit. */
#include "evtchn_setup.h"

#define MAX_EVTCHN_PORT 1023

static uint8_t opened[MAX_EVTCHN_PORT + 1]; /* ports this guest allocated */
static unsigned already_open;               /* ports in use before the first case */

static bool port_closed(evtchn_port_t p)
{
    struct evtchn_status st;
    return xen_evtchn_status(DOMID_SELF, p, &st) == 0 && st.status == EVTCHNSTAT_closed;
}

/* Xen 4.19: xen/common/event_channel.c, get_free_port (lowest first up to max_evtchn_port, then
 * -ENOSPC). */
TEST_CASE(allocate_until_enospc)
{
    REQUIRE(ev_setup(false));
    for (evtchn_port_t p = 1; p <= MAX_EVTCHN_PORT; p++)
        already_open += !port_closed(p);
    CHECK(already_open >= 2); /* the console and xenstore channels */
    evtchn_port_t last = 0, port;
    unsigned got = 0;
    int rc;
    while ((rc = xen_evtchn_alloc_unbound(DOMID_SELF, &port)) == 0 && got <= MAX_EVTCHN_PORT) {
        if (!CHECK(port > last)) /* lowest free first */
            break;
        if (port <= MAX_EVTCHN_PORT)
            opened[port] = 1;
        last = port;
        got++;
    }
    CHECK_EQ(rc, -XEN_ENOSPC);
    CHECK_EQ(last, MAX_EVTCHN_PORT);
    CHECK_EQ(got + already_open, MAX_EVTCHN_PORT);
    for (evtchn_port_t p = 1; p <= MAX_EVTCHN_PORT; p++)
        if (!CHECK(!port_closed(p)))
            break;
    struct evtchn_status st;
    CHECK_EQ(xen_evtchn_status(DOMID_SELF, MAX_EVTCHN_PORT + 1, &st), -XEN_EINVAL); /* never a port */
}

/* Xen 4.19: xen/common/event_channel.c, get_free_port (every binding op allocates through it:
 * -ENOSPC). */
TEST_CASE(every_way_to_a_port_is_enospc_when_full)
{
    REQUIRE(opened[MAX_EVTCHN_PORT]);
    evtchn_port_t port;
    for (unsigned v = 0; v < ev_vcpus(); v++)
        CHECK_EQ(xen_evtchn_bind_ipi(v, &port), -XEN_ENOSPC);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, 0, &port), -XEN_ENOSPC);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_DOM_EXC, 0, &port), -XEN_ENOSPC);
    CHECK_EQ(xen_evtchn_bind_interdomain(DOMID_SELF, MAX_EVTCHN_PORT, &port), -XEN_ENOSPC);
    CHECK_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &port), -XEN_ENOSPC);
}

/* Xen 4.19: xen/common/event_channel.c, get_free_port and evtchn_close. */
TEST_CASE(a_closed_port_is_the_next_one_given)
{
    REQUIRE(opened[MAX_EVTCHN_PORT]);
    static const evtchn_port_t picks[] = {MAX_EVTCHN_PORT, 512, 100};
    /* All of them were opened by this guest (the console and xenstore took the lowest ports). */
    REQUIRE(opened[512] && opened[100] && opened[200] && opened[300]);
    for (unsigned i = 0; i < ARRAY_SIZE(picks); i++) {
        evtchn_port_t p = picks[i], port = 0;
        REQUIRE_EQ(xen_evtchn_close(p), 0);
        CHECK(port_closed(p));
        CHECK_EQ(xen_evtchn_bind_ipi(0, &port), 0);
        CHECK_EQ(port, p);
        CHECK_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &port), -XEN_ENOSPC);
    }
    /* Two free: the lower one first. */
    {
        evtchn_port_t port = 0;
        CHECK_EQ(xen_evtchn_close(300), 0);
        CHECK_EQ(xen_evtchn_close(200), 0);
        CHECK_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &port), 0);
        CHECK_EQ(port, 200);
        CHECK_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &port), 0);
        CHECK_EQ(port, 300);
    }
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_reset (evtchn_close of every port). */
TEST_CASE(reset_closes_every_port)
{
    REQUIRE(opened[MAX_EVTCHN_PORT]);
    CHECK_EQ(xen_evtchn_reset(DOMID_SELF), 0);
    unsigned still_open = 0;
    for (evtchn_port_t p = 1; p <= MAX_EVTCHN_PORT; p++)
        still_open += !port_closed(p);
    CHECK_EQ(still_open, 0);
    evtchn_port_t port = 0;
    CHECK_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &port), 0);
    CHECK_EQ(port, 1);
    CHECK_EQ(xen_evtchn_close(port), 0);
}

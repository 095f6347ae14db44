/* Two domains ping-pong events over an interdomain channel. The test (tests/cli/evtchn_*) creates
 * both paused, writes each one's peer domid to its data/peer, then unpauses them. Command line:
 *   role=a   allocates an unbound port for the peer and publishes it in data/port (readable by the
 *            peer), then answers every event it receives with one back
 *   role=b   binds to a's published port and starts the exchange
 *   count=N  round trips (default 1000)
 * Both wait with SCHEDOP_poll on their masked port, so nothing depends on upcalls. Each reports
 * "events received N" and, at the end, the round-trip time as "BENCH interdomain_round_trip ... ns". */
#include "conformance.h"

#define POLL_TIMEOUT_NS 10000000000ull /* a lost event shows as a failure, not a hang */

static domid_t peer;
static evtchn_port_t port;
static unsigned long count;

/* The PV clock's system time now (vcpu_time_info extrapolated with the TSC). */
static uint64_t now_ns(void)
{
    volatile struct vcpu_time_info* t = &xen_shared_info()->vcpu_info[0].time;
    uint32_t version;
    uint64_t ns;
    do {
        version = t->version;
        __asm__ volatile("" ::: "memory");
        uint64_t delta = rdtsc() - t->tsc_timestamp;
        delta = t->tsc_shift >= 0 ? delta << t->tsc_shift : delta >> -t->tsc_shift;
        ns = t->system_time + (uint64_t)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
        __asm__ volatile("" ::: "memory");
    } while ((version & 1) || version != t->version);
    return ns;
}

static int poll_port(uint64_t deadline)
{
    struct sched_poll p = {.ports = &port, .nr_ports = 1, .timeout = deadline};
    return (int)hypercall_sched_op(SCHEDOP_poll, &p);
}

/* Waits for the next event on our port and consumes it. */
static bool wait_event(void)
{
    uint64_t deadline = now_ns() + POLL_TIMEOUT_NS;
    for (;;) {
        if (xen_evtchn_test_and_clear_pending(port))
            return true;
        if (poll_port(deadline) < 0 || now_ns() >= deadline)
            return !!xen_evtchn_test_and_clear_pending(port);
    }
}

TEST_CASE(rendezvous)
{
    char buf[32];
    REQUIRE(xen_shared_info() != NULL);
    xs_set_timeout_ms(20000);
    REQUIRE(xs_read("data/peer", buf, sizeof(buf)) > 0);
    peer = (domid_t)strtoul(buf, NULL, 10);
    REQUIRE(peer != 0 && peer != xen_info.domid);
    if (strcmp(conf_arg("role"), "a") == 0) {
        REQUIRE_EQ(xen_evtchn_alloc_unbound(peer, &port), 0);
        xen_evtchn_mask(port);
        snprintf(buf, sizeof(buf), "%u", port);
        REQUIRE_EQ(xs_write("data/port", buf), 0);
        /* Owner us, read access for the peer: it may look, nobody else. */
        char perms[32];
        int n = snprintf(perms, sizeof(perms), "data/port%cn%u%cr%u", 0, xen_info.domid, 0, peer);
        REQUIRE(xs_request(XS_SET_PERMS, 0, perms, (uint32_t)n + 1, NULL, buf, sizeof(buf)) >= 0);
    } else {
        char path[64];
        snprintf(path, sizeof(path), "/local/domain/%u/data/port", peer);
        REQUIRE_EQ(xs_watch(path, "port"), 0);
        while (xs_read(path, buf, sizeof(buf)) <= 0) {
            char wpath[64], token[16];
            REQUIRE_EQ(xs_read_watch(wpath, sizeof(wpath), token, sizeof(token)), 0);
        }
        struct evtchn_bind_interdomain b = {.remote_dom = peer, .remote_port = (evtchn_port_t)strtoul(buf, NULL, 10)};
        REQUIRE_EQ(hypercall_event_channel_op(EVTCHNOP_bind_interdomain, &b), 0);
        port = b.local_port;
        xen_evtchn_mask(port);
        /* A new binding starts pending (Xen's way of not losing early sends): consume that one. */
        CHECK(xen_evtchn_test_and_clear_pending(port));
        struct evtchn_status st = {.dom = DOMID_SELF, .port = port};
        REQUIRE_EQ(hypercall_event_channel_op(EVTCHNOP_status, &st), 0);
        CHECK_EQ(st.status, EVTCHNSTAT_interdomain);
        CHECK_EQ(st.u.interdomain.dom, peer);
        CHECK_EQ(st.u.interdomain.port, b.remote_port);
    }
}

TEST_CASE(ping_pong)
{
    REQUIRE(port != 0);
    bool starter = strcmp(conf_arg("role"), "b") == 0;
    unsigned long received = 0;
    uint64_t t0 = now_ns();
    if (starter)
        REQUIRE_EQ(xen_evtchn_send(port), 0);
    while (received < count) {
        if (!wait_event()) {
            TEST_FAIL("no event after %lu of %lu", received, count);
            break;
        }
        received++;
        if (!starter || received < count)
            REQUIRE_EQ(xen_evtchn_send(port), 0);
    }
    uint64_t elapsed = now_ns() - t0;
    printf("events received %lu\n", received);
    CHECK_EQ(received, count);
    if (received)
        printf("BENCH interdomain_round_trip %lu %llu ns\n", received, (unsigned long long)(elapsed / received));
}

TEST_CASE(close_unbinds_the_peer)
{
    /* a waits for b to close; its port then reads unbound again, still for b (as on Xen). */
    if (strcmp(conf_arg("role"), "b") == 0) {
        CHECK_EQ(xen_evtchn_close(port), 0);
        return;
    }
    struct evtchn_status st = {.dom = DOMID_SELF, .port = port};
    for (unsigned i = 0; i < 2000; i++) {
        REQUIRE_EQ(hypercall_event_channel_op(EVTCHNOP_status, &st), 0);
        if (st.status == EVTCHNSTAT_unbound)
            break;
        poll_port(now_ns() + 5000000);
    }
    CHECK_EQ(st.status, EVTCHNSTAT_unbound);
    CHECK_EQ(st.u.unbound.dom, peer);
}

int guest_main(void)
{
    count = conf_arg_ulong("count", 1000);
    test_run_all();
    test_finish();
}

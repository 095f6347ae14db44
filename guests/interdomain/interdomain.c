/* Two domains exchange events over interdomain channels, one channel ("lane") per vCPU. The test
 * (tests/cli/cli_evtchn_test.cpp) creates both paused, writes each one's peer domid to its
 * data/peer, then unpauses them. Command line:
 *   role=a    allocates an unbound port per lane for the peer, moves lane i's to vCPU i, and
 *             publishes them in data/ports (readable by the peer); answers every event with one
 *   role=b    binds a's ports, moves lane i's to vCPU i, and starts each exchange
 *   lanes=N   lanes (and vCPUs doing them) (default 1)
 *   count=N   round trips per lane (default 1000)
 * Every vCPU waits with SCHEDOP_poll on its own masked port, so nothing depends on upcalls. Each
 * lane reports "lane L events received N"; lane 0 also the round-trip time as
 * "BENCH interdomain_round_trip <n> <ns> ns". */
#include "conformance.h"
#include "guest/evtchn.h"
#include "guest/pvclock.h"
#include "guest/smp.h"

#define POLL_TIMEOUT_NS 10000000000ull /* a lost event shows as a failure, not a hang */

static domid_t peer;
static unsigned lanes;
static unsigned long count;
static bool starter; /* role b starts each exchange */
static evtchn_port_t port[SMP_MAX_CPUS];
static evtchn_port_t remote[SMP_MAX_CPUS];
static volatile unsigned long received[SMP_MAX_CPUS];
static volatile uint64_t elapsed_ns[SMP_MAX_CPUS];

/* Waits for the next event on `p` and consumes it; false once `deadline` has passed. The clock is
 * read only when a poll returns empty-handed: guest kernel code runs in KVM's emulator here, and
 * this loop is most of what a lane costs. */
static bool wait_event(evtchn_port_t p, uint64_t deadline)
{
    for (;;) {
        if (xen_evtchn_test_and_clear_pending(p))
            return true;
        if (xen_sched_poll(&p, 1, deadline) < 0)
            return false;
        if (!xen_evtchn_is_pending(p) && pvclock_ns() >= deadline)
            return false;
    }
}

static long run_lane(void* arg)
{
    unsigned lane = (unsigned)(uintptr_t)arg;
    evtchn_port_t p = port[lane];
    irq_disable(); /* nothing here needs interrupts, and polls with them off stay out of KVM */
    uint64_t t0 = pvclock_ns();
    if (starter && xen_evtchn_send(p) != 0)
        return 1;
    unsigned long n = 0;
    uint64_t deadline = 0;
    while (n < count) {
        if ((n & 1023) == 0) /* a lost event fails the lane within POLL_TIMEOUT_NS */
            deadline = pvclock_ns() + POLL_TIMEOUT_NS;
        if (!wait_event(p, deadline))
            break;
        n++;
        if ((!starter || n < count) && xen_evtchn_send(p) != 0)
            break;
    }
    received[lane] = n;
    elapsed_ns[lane] = pvclock_ns() - t0;
    irq_enable();
    return n == count ? 0 : 1;
}

static int publish_ports(void)
{
    char buf[16 * SMP_MAX_CPUS], perms[64];
    size_t at = 0;
    for (unsigned l = 0; l < lanes; l++)
        at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%u", l ? " " : "", port[l]);
    int rc = xs_write("data/ports", buf);
    if (rc < 0)
        return rc;
    /* Owner us, read access for the peer: it may look, nobody else. */
    int n = snprintf(perms, sizeof(perms), "data/ports%cn%u%cr%u", 0, xen_info.domid, 0, peer);
    char reply[32];
    return xs_request(XS_SET_PERMS, 0, perms, (uint32_t)n + 1, NULL, reply, sizeof(reply));
}

static int read_remote_ports(void)
{
    char path[64], buf[16 * SMP_MAX_CPUS];
    snprintf(path, sizeof(path), "/local/domain/%u/data/ports", peer);
    int rc = xs_watch(path, "ports");
    if (rc < 0)
        return rc;
    while (xs_read(path, buf, sizeof(buf)) <= 0) {
        char wpath[64], token[16];
        if ((rc = xs_read_watch(wpath, sizeof(wpath), token, sizeof(token))) < 0)
            return rc;
    }
    char* s = buf;
    for (unsigned l = 0; l < lanes; l++) {
        remote[l] = (evtchn_port_t)strtoul(s, &s, 10);
        if (!remote[l])
            return -XEN_EINVAL;
    }
    return 0;
}

TEST_CASE(rendezvous)
{
    char buf[32];
    REQUIRE_EQ(evtchn_init(), 0);
    xs_set_timeout_ms(20000);
    REQUIRE(xs_read("data/peer", buf, sizeof(buf)) > 0);
    peer = (domid_t)strtoul(buf, NULL, 10);
    REQUIRE(peer != 0 && peer != xen_info.domid);
    for (unsigned l = 1; l < lanes; l++)
        REQUIRE_EQ(smp_boot_cpu(l, SMP_BOOT_VCPUOP, 5000000), 0);
    if (!starter) {
        for (unsigned l = 0; l < lanes; l++) {
            REQUIRE_EQ(xen_evtchn_alloc_unbound(peer, &port[l]), 0);
            REQUIRE_EQ(xen_evtchn_bind_vcpu(port[l], l), 0);
            xen_evtchn_mask(port[l]);
        }
        REQUIRE(publish_ports() >= 0);
        return;
    }
    REQUIRE_EQ(read_remote_ports(), 0);
    for (unsigned l = 0; l < lanes; l++) {
        REQUIRE_EQ(xen_evtchn_bind_interdomain(peer, remote[l], &port[l]), 0);
        REQUIRE_EQ(xen_evtchn_bind_vcpu(port[l], l), 0);
        xen_evtchn_mask(port[l]);
        /* A new binding starts pending (Xen's way of not losing early sends): consume that one. */
        CHECK(xen_evtchn_test_and_clear_pending(port[l]));
        struct evtchn_status st;
        REQUIRE_EQ(xen_evtchn_status(DOMID_SELF, port[l], &st), 0);
        CHECK_EQ(st.status, EVTCHNSTAT_interdomain);
        CHECK_EQ(st.vcpu, l);
        CHECK_EQ(st.u.interdomain.dom, peer);
        CHECK_EQ(st.u.interdomain.port, remote[l]);
    }
}

TEST_CASE(ping_pong_on_every_lane)
{
    REQUIRE(port[0] != 0);
    for (unsigned l = 1; l < lanes; l++)
        REQUIRE_EQ(smp_start_cpu(l, run_lane, (void*)(uintptr_t)l), 0);
    long bad = run_lane((void*)0);
    for (unsigned l = 1; l < lanes; l++)
        bad += smp_wait(l, 600000000) != 0;
    unsigned long total = 0;
    for (unsigned l = 0; l < lanes; l++) {
        printf("lane %u events received %lu\n", l, received[l]);
        CHECK_EQ(received[l], count);
        total += received[l];
    }
    printf("events received %lu\n", total);
    CHECK_EQ(bad, 0);
    if (received[0])
        printf("BENCH interdomain_round_trip %lu %llu ns\n", received[0],
               (unsigned long long)(elapsed_ns[0] / received[0]));
}

TEST_CASE(close_unbinds_the_peer)
{
    /* a waits for b to close; its port then reads unbound again, still for b (as on Xen). */
    if (starter) {
        for (unsigned l = 0; l < lanes; l++)
            CHECK_EQ(xen_evtchn_close(port[l]), 0);
        return;
    }
    struct evtchn_status st = {0};
    for (unsigned i = 0; i < 2000; i++) {
        REQUIRE_EQ(xen_evtchn_status(DOMID_SELF, port[0], &st), 0);
        if (st.status == EVTCHNSTAT_unbound)
            break;
        xen_sched_poll(&port[0], 1, pvclock_ns() + 5000000);
    }
    CHECK_EQ(st.status, EVTCHNSTAT_unbound);
    CHECK_EQ(st.u.unbound.dom, peer);
}

int guest_main(void)
{
    starter = strcmp(conf_arg("role"), "b") == 0;
    count = conf_arg_ulong("count", 1000);
    lanes = (unsigned)conf_arg_ulong("lanes", 1);
    if (lanes < 1 || lanes > SMP_MAX_CPUS)
        lanes = 1;
    test_run_all();
    test_finish();
}

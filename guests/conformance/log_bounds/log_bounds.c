/* Conformance (issue 11): what a guest can make the hypervisor log. It provokes warnings by the
 * thousand, and xenstore keeps serving it meanwhile; the host test checks the VMM's stderr stays a
 * few lines per second of run:
 *  - a watch whose token is 4000 bytes, then 2000 writes under it, each event too long to deliver;
 *  - a broken xenstore ring (more requests claimed than the ring holds) notified 20000 times, then
 *    reset with the reconnection protocol.
 * 64-bit (the ring has one layout). */
#include "conformance.h"

#define WRITES 2000
#define NOTIFIES 20000

/* The fields after the indices (docs/misc/xenstore-ring.txt), which guests/lib does not use. */
struct ring_tail {
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
};
#define FEATURE_RECONNECTION 1
#define FEATURE_ERROR 2
#define RING_CONNECTED 0
#define RING_RECONNECT 1

static char token[4001];
static char path[256];
static char value[32];

static volatile struct ring_tail* ring_tail(void)
{
    return (volatile struct ring_tail*)(&xs_ring()->rsp_prod + 1);
}

/* Xen 4.19: docs/misc/xenstore.txt (WATCH: the token is any string the guest picks; every change
 * under the path fires an event carrying it). */
TEST_CASE(watch_with_a_long_token_then_many_writes)
{
    REQUIRE_EQ(xs_init(), 0);
    memset(token, 't', sizeof(token) - 1);
    REQUIRE_EQ(xs_watch("data/w", token), 0);
    /* Each event names a 180-byte path and the token: past the 4096-byte payload limit. */
    char name[181];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    unsigned ok = 0;
    for (unsigned i = 0; i < WRITES; i++) {
        snprintf(path, sizeof(path), "data/w/%s", name);
        snprintf(value, sizeof(value), "%u", i);
        ok += xs_write(path, value) == 0;
    }
    CHECK_EQ(ok, WRITES);
    CHECK_EQ(xs_unwatch("data/w", token), 0);
    CHECK_EQ(xs_read(path, value, sizeof(value)), 4); /* "1999": the store is whole */
    CHECK_EQ(xs_rm("data/w"), 0);
}

/* Xen 4.19: docs/misc/xenstore-ring.txt (indices that claim more than the ring holds are an
 * error, XENSTORE_ERROR_RINGIDX; XENSTORE_RECONNECT resets the ring). */
TEST_CASE(broken_ring_notified_in_a_loop_then_reconnected)
{
    struct xenstore_domain_interface* r = xs_ring();
    REQUIRE(r != NULL);
    volatile struct ring_tail* t = ring_tail();
    REQUIRE(t->server_features & FEATURE_RECONNECTION);
    WRITE_ONCE(r->req_prod, READ_ONCE(r->req_cons) + 10 * XENSTORE_RING_SIZE);
    for (unsigned i = 0; i < NOTIFIES; i++)
        CHECK_EQ(xen_evtchn_send(xs_evtchn()), 0);
    if (t->server_features & FEATURE_ERROR)
        CHECK_NE(t->error, 0);
    t->connection = RING_RECONNECT;
    CHECK_EQ(xen_evtchn_send(xs_evtchn()), 0);
    uint64_t deadline = guest_time_us() + 5000000;
    while (READ_ONCE(t->connection) != RING_CONNECTED && guest_time_us() < deadline)
        xen_yield();
    REQUIRE_EQ(t->connection, RING_CONNECTED);
    CHECK_EQ(r->req_prod, 0);
    CHECK_EQ(t->error, 0);
    /* The guest goes on: xenstore answers again. */
    CHECK_EQ(xs_write("data/after", "1"), 0);
    CHECK_EQ(xs_read("data/after", value, sizeof(value)), 1);
}

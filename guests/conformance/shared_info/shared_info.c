/* Conformance: shared_info through XENMEM_add_to_physmap, in the caller's layout. The 32-bit build
 * reads the 32-bit layout (32-bit pending words and selector at vcpu_info offset 4), the 64-bit build
 * the 64-bit one (selector at offset 8): an event on a port >= 32 lands on different selector bits
 * in the two, so a wrong layout shows. Built 32- and 64-bit. */
#include "conformance.h"

#define BITS (sizeof(xen_ulong_t) * 8)
#define MAX_IPIS 48

static uint8_t first[PAGE_SIZE] GUEST_PAGE_ALIGNED GUEST_NOINIT;
static uint8_t second[PAGE_SIZE] GUEST_PAGE_ALIGNED GUEST_NOINIT;
static evtchn_port_t ports[MAX_IPIS];
static unsigned nports;
static evtchn_port_t high_port; /* the first IPI port >= 40 */

/* Xen 4.19: xen/common/memory.c, xenmem_add_to_physmap (XENMAPSPACE_shared_info). */
TEST_CASE(map_shared_info_over_ram)
{
    memset(first, 0xaa, sizeof(first));
    REQUIRE_EQ(xen_map_shared_info((uintptr_t)first), 0);
    struct shared_info* s = xen_shared_info();
    REQUIRE(s == (struct shared_info*)first);
    bool changed = false;
    for (size_t i = 0; i < 256 && !changed; i++) /* the vcpu_info area is no longer our pattern */
        changed = READ_ONCE(first[i]) != 0xaa;
    CHECK(changed);
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].evtchn_upcall_pending), 0);
}

/* Xen 4.19: xen/common/event_channel.c, get_free_port. */
TEST_CASE(bind_ports_beyond_32)
{
    while (nports < MAX_IPIS && !high_port) {
        struct evtchn_bind_ipi b = {.vcpu = 0};
        REQUIRE_EQ(hypercall_event_channel_op(EVTCHNOP_bind_ipi, &b), 0);
        ports[nports++] = b.port;
        if (b.port >= 40)
            high_port = b.port;
    }
    REQUIRE(high_port != 0);
}

static void clear_all(struct shared_info* s)
{
    for (unsigned i = 0; i < nports; i++)
        xen_evtchn_test_and_clear_pending(ports[i]);
    WRITE_ONCE(s->vcpu_info[0].evtchn_pending_sel, 0);
    WRITE_ONCE(s->vcpu_info[0].evtchn_upcall_pending, 0);
}

/* Xen 4.19: xen/common/event_2l.c, evtchn_2l_set_pending (word = port / BITS_PER_EVTCHN_WORD of
 * the guest's layout); xen/include/public/xen.h. */
TEST_CASE(event_uses_native_layout)
{
    struct shared_info* s = xen_shared_info();
    REQUIRE(s != NULL && high_port != 0);
    clear_all(s);
    CHECK_EQ(xen_evtchn_send(high_port), 0);
    xen_ulong_t word = READ_ONCE(s->evtchn_pending[high_port / BITS]);
    CHECK(word & ((xen_ulong_t)1 << (high_port % BITS)));
    /* The selector has exactly the bit of the word holding the port, in this guest's word size. */
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].evtchn_pending_sel), (xen_ulong_t)1 << (high_port / BITS));
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].evtchn_upcall_pending), 1);
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].arch.cr2), 0); /* nothing spilled into the next field */
    clear_all(s);
}

/* Xen 4.19: xen/common/event_2l.c, evtchn_2l_set_pending / evtchn_2l_unmask. */
TEST_CASE(masked_port_pends_without_upcall_until_unmasked)
{
    struct shared_info* s = xen_shared_info();
    REQUIRE(s != NULL && high_port != 0);
    clear_all(s);
    xen_evtchn_mask(high_port);
    CHECK_EQ(xen_evtchn_send(high_port), 0);
    CHECK(xen_evtchn_is_pending(high_port));
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].evtchn_pending_sel), 0);
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].evtchn_upcall_pending), 0);
    CHECK_EQ(xen_evtchn_unmask(high_port), 0);
    CHECK_EQ(READ_ONCE(s->evtchn_mask[high_port / BITS]) & ((xen_ulong_t)1 << (high_port % BITS)), 0);
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].evtchn_pending_sel), (xen_ulong_t)1 << (high_port / BITS));
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].evtchn_upcall_pending), 1);
    clear_all(s);
}

/* Xen 4.19: xen/common/memory.c, xenmem_add_to_physmap (a second XENMAPSPACE_shared_info moves the
 * page); DIFF shared_info_move_restores_ram. */
TEST_CASE(remap_moves_shared_info)
{
    REQUIRE(high_port != 0);
    memset(second, 0x55, sizeof(second));
    struct shared_info* s = xen_shared_info();
    xen_evtchn_mask(high_port); /* a mark to find on the new page */
    REQUIRE_EQ(xen_map_shared_info((uintptr_t)second), 0);
    s = xen_shared_info();
    REQUIRE(s == (struct shared_info*)second);
    CHECK(READ_ONCE(s->evtchn_mask[high_port / BITS]) & ((xen_ulong_t)1 << (high_port % BITS)));
    CHECK_EQ(xen_evtchn_unmask(high_port), 0);
    CHECK_EQ(xen_evtchn_send(high_port), 0);
    CHECK(xen_evtchn_is_pending(high_port));
    clear_all(s);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_close. */
TEST_CASE(close_ports)
{
    for (unsigned i = 0; i < nports; i++)
        CHECK_EQ(xen_evtchn_close(ports[i]), 0);
}

/* Conformance (issue 11): shared_info moved 1000 times, each time to a new gfn, leaves the guest
 * whole: the RAM under every place it left reads back what was written there and takes new writes
 * (DIFF shared_info_move_restores_ram: Xen leaves holes), events and the PV clock follow the page,
 * and a move to a gfn no physmap can hold is refused with -EINVAL, leaving the page where it was.
 * 64-bit. */
#include "conformance.h"

#define MOVES 1000

static uint8_t pages[MOVES][PAGE_SIZE] GUEST_PAGE_ALIGNED GUEST_NOINIT;
static evtchn_port_t port;

static uint64_t pattern(unsigned page, unsigned word) { return ((uint64_t)page << 32) ^ (word * 0x9e3779b97f4a7c15ull); }

static void fill(unsigned page, unsigned salt)
{
    uint64_t* w = (uint64_t*)pages[page];
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        w[i] = pattern(page, i) + salt;
}

/* The words of a page that do not hold their pattern. */
static unsigned wrong_words(unsigned page, unsigned salt)
{
    const volatile uint64_t* w = (const volatile uint64_t*)pages[page];
    unsigned bad = 0;
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        bad += w[i] != pattern(page, i) + salt;
    return bad;
}

/* An event on our IPI port shows in the shared_info the guest now has mapped. */
static bool event_lands(void)
{
    if (xen_evtchn_send(port) != 0 || !xen_evtchn_is_pending(port))
        return false;
    xen_evtchn_test_and_clear_pending(port);
    struct shared_info* s = xen_shared_info();
    WRITE_ONCE(s->vcpu_info[0].evtchn_pending_sel, 0);
    WRITE_ONCE(s->vcpu_info[0].evtchn_upcall_pending, 0);
    return true;
}

/* Xen 4.19: xen/common/memory.c, xenmem_add_to_physmap (XENMAPSPACE_shared_info: the page moves to
 * the new gfn); DIFF shared_info_move_restores_ram. */
TEST_CASE(move_shared_info_a_thousand_times)
{
    REQUIRE(xen_shared_info() != NULL);
    struct evtchn_bind_ipi b = {.vcpu = 0};
    REQUIRE_EQ(hypercall_event_channel_op(EVTCHNOP_bind_ipi, &b), 0);
    port = b.port;
    unsigned refused = 0, lost_events = 0, damaged = 0;
    uint64_t last_clock = pvclock_ns();
    for (unsigned i = 0; i < MOVES; i++) {
        fill(i, 0);
        if (xen_map_shared_info((uintptr_t)pages[i]) != 0) {
            refused++;
            continue;
        }
        lost_events += !event_lands();
        if (i > 0)
            damaged += wrong_words(i - 1, 0) != 0; /* the page it left is RAM again, as written */
        uint64_t now = pvclock_ns();
        CHECK(now >= last_clock);
        last_clock = now;
    }
    TEST_DIFF(shared_info_move_restores_ram, "the pages shared_info left hold their RAM");
    CHECK_EQ(refused, 0);
    CHECK_EQ(lost_events, 0);
    CHECK_EQ(damaged, 0);
}

/* Xen 4.19: xen/common/memory.c, xenmem_add_to_physmap; DIFF shared_info_move_restores_ram (every
 * place it left is writable RAM). */
TEST_CASE(ram_it_left_takes_new_writes)
{
    TEST_DIFF(shared_info_move_restores_ram, "the pages shared_info left hold their RAM");
    unsigned damaged = 0;
    for (unsigned i = 0; i + 1 < MOVES; i++) {
        fill(i, 7);
        damaged += wrong_words(i, 7) != 0;
    }
    CHECK_EQ(damaged, 0);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_ipi / evtchn_send; xen/arch/x86/time.c,
 * update_vcpu_system_time (the record in the vcpu_info of the current shared_info). */
TEST_CASE(events_and_pv_clock_follow_the_last_move)
{
    REQUIRE(port != 0);
    struct shared_info* s = xen_shared_info();
    REQUIRE(s == (struct shared_info*)pages[MOVES - 1]);
    CHECK(event_lands());
    struct evtchn_bind_ipi b = {.vcpu = 0};
    REQUIRE_EQ(hypercall_event_channel_op(EVTCHNOP_bind_ipi, &b), 0);
    CHECK_EQ(xen_evtchn_send(b.port), 0);
    CHECK(xen_evtchn_is_pending(b.port));
    xen_evtchn_test_and_clear_pending(b.port);
    CHECK_EQ(xen_evtchn_close(b.port), 0);
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].time.version) & 1, 0);
    struct xen_hvm_get_time t;
    uint64_t before = pvclock_ns();
    REQUIRE_EQ(hypercall_hvm_op(HVMOP_get_time, &t), 0);
    uint64_t after = pvclock_ns();
    CHECK(after > before);
    CHECK(t.now + 10000000ull >= before && t.now <= after + 10000000ull); /* the hypervisor's time */
}

/* Xen 4.19: xen/arch/x86/mm/p2m-ept.c, ept_set_entry (a gfn beyond what the p2m can map: -EINVAL),
 * reached from xenmem_add_to_physmap; nothing moves. */
TEST_CASE(unmappable_move_is_refused_and_the_page_stays)
{
    REQUIRE(port != 0);
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0, .gpfn = (xen_pfn_t)1 << 40};
    CHECK_EQ(hypercall_memory_op(XENMEM_add_to_physmap, &xatp), -XEN_EINVAL);
    xatp.gpfn = ~(xen_pfn_t)0;
    CHECK_EQ(hypercall_memory_op(XENMEM_add_to_physmap, &xatp), -XEN_EINVAL);
    CHECK(xen_shared_info() == (struct shared_info*)pages[MOVES - 1]);
    CHECK(event_lands()); /* still at its last place */
    CHECK_EQ(xen_evtchn_close(port), 0);
}

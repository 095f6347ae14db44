/* Conformance: where each vCPU's vcpu_info is. The first 32 are in shared_info; VCPUOP_register_
 * vcpu_info moves one anywhere in RAM, once (Xen 4.19, xen/common/domain.c common_vcpu_op and
 * map_guest_area): the old content is copied over, everything is marked pending (evtchn_pending_sel
 * all ones, evtchn_upcall_pending set) and later events land in the new place only. Refused: a
 * second registration (-EBUSY), a record crossing a page or not aligned to xen_ulong_t (-ENXIO), a
 * frame that is not RAM or a frame number that does not survive the shift (-EINVAL), a bad argument
 * pointer (-EFAULT). The last vCPU is registered by vCPU 0 before it is started, as Linux does;
 * the others move their own. Command line: vcpus=<n>. 64-bit. */
#include "evtchn_setup.h"

#define MARKER 0xc0ffee00ul

static uint8_t area[SMP_MAX_CPUS][PAGE_SIZE] GUEST_PAGE_ALIGNED;
static evtchn_port_t ipi[SMP_MAX_CPUS];

static xen_ulong_t word_bit(evtchn_port_t p) { return (xen_ulong_t)1 << (p / EVTCHN_WORD_BITS); }
static struct vcpu_info* legacy(unsigned v) { return &xen_shared_info()->vcpu_info[v]; }
static struct vcpu_info* moved(unsigned v) { return (struct vcpu_info*)&area[v][64]; }

static void clear_info(struct vcpu_info* vi)
{
    WRITE_ONCE(vi->evtchn_upcall_pending, 0);
    WRITE_ONCE(vi->evtchn_pending_sel, 0);
}

/* Xen 4.19: xen/include/public/xen.h (shared_info.vcpu_info[XEN_LEGACY_MAX_VCPUS]). */
TEST_CASE(legacy_vcpu_info_is_in_shared_info)
{
    /* No vCPU but 0 runs yet and no upcall path is set: what Xen writes stays there to be seen. */
    REQUIRE_EQ(evtchn_init(), 0);
    smp_init();
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        REQUIRE_EQ(xen_evtchn_bind_ipi(v, &ipi[v]), 0);
        evtchn_register(ipi[v], v, NULL, NULL);
        clear_info(legacy(v));
    }
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        CHECK_EQ(xen_evtchn_send(ipi[v]), 0);
        for (unsigned w = 0; w < ev_vcpus(); w++) {
            CHECK_EQ(legacy(w)->evtchn_pending_sel, w == v ? word_bit(ipi[v]) : 0);
            CHECK_EQ(legacy(w)->evtchn_upcall_pending, w == v);
        }
        CHECK(legacy(v)->time.tsc_to_system_mul != 0);
        xen_evtchn_test_and_clear_pending(ipi[v]);
        clear_info(legacy(v));
    }
}

static long register_raw(unsigned v, uint64_t mfn, uint32_t offset)
{
    struct vcpu_register_vcpu_info r = {.mfn = mfn, .offset = offset};
    return hypercall_vcpu_op(VCPUOP_register_vcpu_info, v, &r);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_register_vcpu_info) and map_guest_area
 * (crossing or misaligned: -ENXIO; not RAM: -EINVAL). */
TEST_CASE(register_refuses_bad_places)
{
    REQUIRE(ipi[0] != 0);
    uint64_t mfn = (uintptr_t)area[0] >> PAGE_SHIFT;
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        CHECK_EQ(register_raw(v, mfn, PAGE_SIZE - 32), -XEN_ENXIO);          /* crosses the page */
        CHECK_EQ(register_raw(v, mfn, PAGE_SIZE - 64 + 8), -XEN_ENXIO);      /* aligned, still crosses */
        CHECK_EQ(register_raw(v, mfn, 68), -XEN_ENXIO);                      /* not 8-byte aligned */
        CHECK_EQ(register_raw(v, CONF_BAD_GPA >> PAGE_SHIFT, 0), -XEN_EINVAL); /* not RAM */
        CHECK_EQ(register_raw(v, 1ull << 40, 0), -XEN_EINVAL);               /* far above RAM */
        CHECK_EQ(register_raw(v, 1ull << 60, 0), -XEN_EINVAL);               /* frame << 12 overflows */
        CHECK_EQ(register_raw(v, mfn, PAGE_SIZE), -XEN_EINVAL);              /* offset leaves the frame */
        CHECK_EQ(hypercall_vcpu_op(VCPUOP_register_vcpu_info, v, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    }
}

/* With interrupts off on the vCPU that owns `vi`: an event goes to the registered place only. */
static void check_lands_in(unsigned v, struct vcpu_info* vi)
{
    clear_info(vi);
    clear_info(legacy(v));
    CHECK_EQ(xen_evtchn_send(ipi[v]), 0);
    CHECK_EQ(vi->evtchn_pending_sel, word_bit(ipi[v]));
    CHECK_EQ(vi->evtchn_upcall_pending, 1);
    CHECK_EQ(legacy(v)->evtchn_pending_sel, 0);
    CHECK_EQ(legacy(v)->evtchn_upcall_pending, 0);
}

static void check_populated(unsigned v, const struct vcpu_info* vi, uint32_t mul)
{
    CHECK_EQ(vi->arch.cr2, MARKER + v); /* copied from the old place */
    CHECK_EQ(vi->time.tsc_to_system_mul, mul);
    CHECK_EQ(vi->time.version & 1, 0);
    CHECK_EQ(vi->evtchn_pending_sel, ~(xen_ulong_t)0); /* everything marked pending */
    CHECK_EQ(vi->evtchn_upcall_pending, 1);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_register_vcpu_info for any vCPU of the
 * domain); vcpu_info_populate. */
TEST_CASE(register_a_vcpu_before_it_starts)
{
    unsigned v = ev_vcpus() - 1;
    if (v == 0)
        TEST_SKIP("needs 2 vCPUs");
    REQUIRE(ipi[v] != 0);
    legacy(v)->arch.cr2 = MARKER + v;
    uint32_t mul = legacy(v)->time.tsc_to_system_mul;
    REQUIRE_EQ(xen_register_vcpu_info(v, moved(v)), 0);
    check_populated(v, moved(v), mul);
    clear_info(legacy(v));
    check_lands_in(v, moved(v)); /* before it runs, nothing consumes it */
    xen_evtchn_test_and_clear_pending(ipi[v]);
    REQUIRE(ev_setup(true)); /* now start them all */
    ev_quiet(EV_QUIET_US);    /* the spurious "all pending" upcall comes and goes */
    unsigned long before = evtchn_count(ipi[v]);
    CHECK_EQ(xen_evtchn_send(ipi[v]), 0);
    CHECK(ev_wait_count(ipi[v], before + 1, EV_WAIT_US));
    CHECK_EQ(legacy(v)->evtchn_upcall_pending, 0);
}

static long move_own(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    irq_disable();
    evtchn_do_upcall();
    legacy(me)->arch.cr2 = MARKER + me;
    uint32_t mul = legacy(me)->time.tsc_to_system_mul;
    if (!CHECK_EQ(xen_register_vcpu_info(me, moved(me)), 0))
        return 1;
    check_populated(me, moved(me), mul);
    evtchn_do_upcall(); /* drains the "all pending" marking through the new place */
    check_lands_in(me, moved(me));
    unsigned long before = evtchn_count(ipi[me]);
    CHECK(ev_wait_count(ipi[me], before + 1, EV_WAIT_US)); /* interrupts on: delivered from there */
    return 0;
}

/* Xen 4.19: xen/common/domain.c, vcpu_info_populate (contents copied, evtchn_pending_sel all
 * ones). */
TEST_CASE(each_vcpu_moves_its_own_vcpu_info)
{
    REQUIRE(ipi[0] != 0);
    REQUIRE(ev_setup(true));
    unsigned movers = ev_vcpus() > 1 ? ev_vcpus() - 1 : 1; /* the last one was moved for it */
    for (unsigned v = 0; v < movers; v++)
        CHECK_EQ(smp_run_on(v, move_own, NULL, 2 * EV_WAIT_US), 0);
}

static long still_first_place(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    irq_disable();
    check_lands_in(me, moved(me));
    unsigned long before = evtchn_count(ipi[me]);
    CHECK(ev_wait_count(ipi[me], before + 1, EV_WAIT_US));
    return 0;
}

/* Xen 4.19: xen/common/domain.c, common_vcpu_op (VCPUOP_register_vcpu_info: an address that the
 * frame and offset cannot make is -EINVAL first; then vcpu_info_area already set: -EBUSY, before
 * map_guest_area looks at the place). */
TEST_CASE(second_registration_is_ebusy)
{
    REQUIRE(ipi[0] != 0);
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        uint64_t mfn = (uintptr_t)area[v] >> PAGE_SHIFT;
        CHECK_EQ(register_raw(v, mfn, 64), -XEN_EBUSY);  /* the same place */
        CHECK_EQ(register_raw(v, mfn, 256), -XEN_EBUSY); /* or another */
        CHECK_EQ(register_raw(v, mfn, PAGE_SIZE - 32), -XEN_EBUSY); /* checked before the range */
        CHECK_EQ(register_raw(v, 1ull << 40, 0), -XEN_EBUSY);      /* and before RAM */
        CHECK_EQ(register_raw(v, 1ull << 60, 0), -XEN_EINVAL);     /* but after the address */
        CHECK_EQ(register_raw(v, mfn, PAGE_SIZE), -XEN_EINVAL);
        CHECK_EQ(smp_run_on(v, still_first_place, NULL, 2 * EV_WAIT_US), 0);
    }
}

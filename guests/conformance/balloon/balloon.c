/* Conformance: the balloon (issue 9). XENMEM_decrease_reservation and XENMEM_populate_physmap with
 * extent orders 0 and 9 out and back in, the memory's contents across them, the reservation counts,
 * and Xen's answers (a count of extents done, never an errno) for an extent over the maximum
 * reservation, orders above a domU's limit (9 by default on x86: 10 and 18 do nothing), extents that
 * are not populated, unreadable lists and another domain; XENMAPSPACE_gmfn(_range) moves and
 * XENMEM_remove_from_physmap. Also CPUID leaf 4's IOMMU-mappings bit.
 * The test runs the VMM with XKVM_CHECK_DMA=1, so after every memory_op the VMM compares the
 * domain's DMA space with its physmap and crashes the domain if they differ.
 * With max_order=18 on the command line (the VMM run with --memop-max-order 18, Xen's
 * memop-max-order), a 1 GiB extent goes out and back in too; that needs RAM over [1 GiB, 2 GiB).
 * Command line: memory_mib=<the domain's RAM> (maxmem is the same) [max_order=<N>]. 64-bit. */
#include "conformance.h"

/* Frames the guest image, its stacks and the start info never use with 64 MiB of RAM. */
#define SCRATCH_GFN 0x2000UL     /* 32 MiB */
#define EXTENT9_GFN 0x2400UL     /* 36 MiB: 2 MiB aligned */
#define GIB_GFN 0x40000UL        /* 1 GiB: an order-18 extent when the domain has 2 GiB or more */
#define FRESH_GFN fresh_gfn()     /* 16 MiB above the domain's RAM: never RAM in this domain */

static xen_pfn_t fresh_gfn(void) { return (strtoul(conf_arg("memory_mib"), NULL, 10) + 16) << (20 - PAGE_SHIFT); }
static unsigned max_order(void)
{
    const char* arg = conf_arg("max_order");
    return *arg ? (unsigned)strtoul(arg, NULL, 10) : 9;
}

static xen_pfn_t list[4];

static long balloon(unsigned cmd, const xen_pfn_t* gfns, unsigned n, unsigned order, domid_t domid)
{
    for (unsigned i = 0; i < n; i++)
        list[i] = gfns[i];
    struct xen_memory_reservation r = {
        .extent_start = list, .nr_extents = n, .extent_order = order, .mem_flags = 0, .domid = domid};
    return hypercall_memory_op(cmd, &r);
}

static long out1(xen_pfn_t gfn, unsigned order) { return balloon(XENMEM_decrease_reservation, &gfn, 1, order, DOMID_SELF); }
static long in1(xen_pfn_t gfn, unsigned order) { return balloon(XENMEM_populate_physmap, &gfn, 1, order, DOMID_SELF); }

static long current_pages(void)
{
    domid_t d = DOMID_SELF;
    return hypercall_memory_op(XENMEM_current_reservation, &d);
}

static volatile uint64_t* frame(xen_pfn_t gfn) { return (volatile uint64_t*)(uintptr_t)(gfn << PAGE_SHIFT); }

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (XEN_HVM_CPUID_IOMMU_MAPPINGS,
 * public/arch-x86/cpuid.h). */
TEST_CASE(cpuid_announces_iommu_mappings)
{
    struct cpuid_regs r = cpuid(0x40000004, 0);
    CHECK(r.eax & XEN_HVM_CPUID_IOMMU_MAPPINGS);
}

/* Xen 4.19: xen/common/memory.c, decrease_reservation / populate_physmap (extents done as the
 * result). */
TEST_CASE(order0_out_and_back_in)
{
    long before = current_pages();
    *frame(SCRATCH_GFN) = 0x1122334455667788ULL;
    REQUIRE_EQ(out1(SCRATCH_GFN, 0), 1);
    CHECK_EQ(current_pages(), before - 1);
    CHECK_EQ(out1(SCRATCH_GFN, 0), 0); /* not populated any more */
    REQUIRE_EQ(in1(SCRATCH_GFN, 0), 1);
    CHECK_EQ(current_pages(), before);
    CHECK_EQ(*frame(SCRATCH_GFN), 0); /* a fresh page, not the old contents */
    *frame(SCRATCH_GFN) = 42;
    CHECK_EQ(*frame(SCRATCH_GFN), 42);
}

/* Xen 4.19: xen/common/memory.c, decrease_reservation / populate_physmap. */
TEST_CASE(order9_out_and_back_in)
{
    long before = current_pages();
    for (unsigned i = 0; i < 512; i++)
        frame(EXTENT9_GFN + i)[1] = i + 1;
    CHECK_EQ(frame(EXTENT9_GFN + 511)[1], 512);
    REQUIRE_EQ(out1(EXTENT9_GFN, 9), 1);
    CHECK_EQ(current_pages(), before - 512);
    REQUIRE_EQ(in1(EXTENT9_GFN, 9), 1);
    CHECK_EQ(current_pages(), before);
    unsigned nonzero = 0;
    for (unsigned i = 0; i < 512; i++)
        nonzero += frame(EXTENT9_GFN + i)[1] != 0;
    CHECK_EQ(nonzero, 0);
}

/* Xen 4.19: xen/common/memory.c, populate_physmap / increase_reservation (domain_adjust_tot_pages
 * against max_pages: 0 extents). */
TEST_CASE(maximum_reservation_is_enforced)
{
    domid_t d = DOMID_SELF;
    long max = hypercall_memory_op(XENMEM_maximum_reservation, &d);
    REQUIRE_EQ(current_pages(), max); /* maxmem == memory: no room */
    CHECK_EQ(in1(FRESH_GFN, 0), 0);
    xen_pfn_t unused = 0; /* a translated guest gets no frame numbers back */
    CHECK_EQ(balloon(XENMEM_increase_reservation, &unused, 1, 0, DOMID_SELF), 0);
    /* Room for one page: it can go anywhere, even where there was never RAM. */
    REQUIRE_EQ(out1(SCRATCH_GFN, 0), 1);
    CHECK_EQ(in1(FRESH_GFN, 0), 1);
    *frame(FRESH_GFN) = 7;
    CHECK_EQ(*frame(FRESH_GFN), 7);
    CHECK_EQ(in1(SCRATCH_GFN, 0), 0); /* full again */
    REQUIRE_EQ(out1(FRESH_GFN, 0), 1);
    REQUIRE_EQ(in1(SCRATCH_GFN, 0), 1);
    CHECK_EQ(current_pages(), max);
}

/* Order 18 where the limit allows it; where it does not, the extent is refused (zero done). */
/* Xen 4.19: xen/common/memory.c, populate_physmap (max_order: the toolstack raises a domain's
 * limit). */
TEST_CASE(order18_out_and_back_in)
{
    if (max_order() < 18) {
        CHECK_EQ(out1(GIB_GFN, 18), 0);
        return;
    }
    long before = current_pages();
    for (unsigned i = 0; i < 262144; i += 4097)
        frame(GIB_GFN + i)[2] = i + 1;
    REQUIRE_EQ(out1(GIB_GFN, 18), 1);
    CHECK_EQ(current_pages(), before - 262144);
    CHECK_EQ(out1(GIB_GFN + 512, 9), 0); /* gone as a whole */
    REQUIRE_EQ(in1(GIB_GFN, 18), 1);
    CHECK_EQ(current_pages(), before);
    unsigned nonzero = 0;
    for (unsigned i = 0; i < 262144; i += 4097)
        nonzero += frame(GIB_GFN + i)[2] != 0;
    CHECK_EQ(nonzero, 0);
    frame(GIB_GFN + 262143)[0] = 11;
    CHECK_EQ(frame(GIB_GFN + 262143)[0], 11);
}

/* Xen 4.19: xen/common/memory.c, do_memory_op (extent_order > max_order: 0 extents, nothing
 * changed). */
TEST_CASE(orders_above_the_limit_do_nothing)
{
    unsigned over = max_order() + 1;
    CHECK_EQ(out1(0x2000, over), 0);
    CHECK_EQ(out1(0, 18 + (max_order() >= 18)), 0);
    CHECK_EQ(in1(FRESH_GFN, over), 0);
    *frame(SCRATCH_GFN) = 5;
    CHECK_EQ(*frame(SCRATCH_GFN), 5); /* still there */
}

/* Xen 4.19: xen/common/memory.c, decrease_reservation / guest_remove_page (the count stops at the
 * first failure). */
TEST_CASE(extents_that_are_not_populated_stop_the_count)
{
    xen_pfn_t gfns[3] = {SCRATCH_GFN + 1, FRESH_GFN + 1, SCRATCH_GFN + 2};
    CHECK_EQ(balloon(XENMEM_decrease_reservation, gfns, 3, 0, DOMID_SELF), 1);
    *frame(SCRATCH_GFN + 2) = 9; /* the third was never reached: still RAM */
    CHECK_EQ(*frame(SCRATCH_GFN + 2), 9);
    CHECK_EQ(out1(CONF_BAD_GPA >> PAGE_SHIFT, 0), 0); /* MMIO hole */
    REQUIRE_EQ(in1(SCRATCH_GFN + 1, 0), 1);
}

/* Xen 4.19: xen/common/memory.c, do_memory_op (copy_from_guest, domain lookup and empty lists:
 * start_extent extents done). */
TEST_CASE(bad_arguments_are_zero_extents)
{
    xen_pfn_t gfn = SCRATCH_GFN;
    CHECK_EQ(balloon(XENMEM_decrease_reservation, &gfn, 1, 0, 0), 0); /* another domain */
    struct xen_memory_reservation r = {
        .extent_start = (xen_pfn_t*)CONF_BAD_GPA, .nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF};
    CHECK_EQ(hypercall_memory_op(XENMEM_decrease_reservation, &r), 0);
    CHECK_EQ(hypercall_memory_op(XENMEM_decrease_reservation, (void*)CONF_BAD_GPA), 0);
    CHECK_EQ(balloon(XENMEM_decrease_reservation, &gfn, 0, 0, DOMID_SELF), 0);
    *frame(SCRATCH_GFN) = 3;
    CHECK_EQ(*frame(SCRATCH_GFN), 3);
}

static long add_to_physmap(unsigned space, unsigned long idx, unsigned long gpfn, uint16_t size)
{
    struct xen_add_to_physmap x = {.domid = DOMID_SELF, .size = size, .space = space, .idx = idx, .gpfn = gpfn};
    return hypercall_memory_op(XENMEM_add_to_physmap, &x);
}

/* Each frame of a batch succeeds or fails on its own, its result in errs[]. */
TEST_CASE(add_to_physmap_batch_reports_each_frame)
{
    static xen_ulong_t idxs[3];
    static xen_pfn_t gpfns[3];
    static int errs[3] = {1, 1, 1};
    *frame(SCRATCH_GFN + 5) = 0x5151;
    idxs[0] = SCRATCH_GFN + 5, gpfns[0] = FRESH_GFN + 5;   /* moves */
    idxs[1] = FRESH_GFN + 7, gpfns[1] = FRESH_GFN + 8;     /* nothing there: refused */
    idxs[2] = FRESH_GFN + 5, gpfns[2] = SCRATCH_GFN + 5;   /* and back */
    struct xen_add_to_physmap_batch b = {
        .domid = DOMID_SELF, .space = XENMAPSPACE_gmfn, .size = 3, .idxs = idxs, .gpfns = gpfns, .errs = errs};
    REQUIRE_EQ(hypercall_memory_op(XENMEM_add_to_physmap_batch, &b), 0);
    CHECK_EQ(errs[0], 0);
    CHECK_EQ(errs[1], -XEN_EINVAL);
    CHECK_EQ(errs[2], 0);
    CHECK_EQ(*frame(SCRATCH_GFN + 5), 0x5151);
    b.space = XENMAPSPACE_gmfn_range; /* xen/common/memory.c, do_memory_op: -EOPNOTSUPP */
    CHECK_EQ(hypercall_memory_op(XENMEM_add_to_physmap_batch, &b), -XEN_EOPNOTSUPP);
    b.space = XENMAPSPACE_gmfn;
    b.errs = (int*)CONF_BAD_GPA;
    CHECK_EQ(hypercall_memory_op(XENMEM_add_to_physmap_batch, &b), -XEN_EFAULT);
}

/* Last: the removed page stays counted (as on Xen), so the reservation is full afterwards. */
/* Xen 4.19: xen/common/memory.c, xenmem_add_to_physmap (XENMAPSPACE_gmfn, gmfn_range) and
 * XENMEM_remove_from_physmap. */
TEST_CASE(physmap_moves_and_removal)
{
    *frame(SCRATCH_GFN + 3) = 0xabcdef;
    REQUIRE_EQ(add_to_physmap(XENMAPSPACE_gmfn, SCRATCH_GFN + 3, FRESH_GFN + 3, 0), 0);
    CHECK_EQ(*frame(FRESH_GFN + 3), 0xabcdef);
    CHECK_EQ(add_to_physmap(XENMAPSPACE_gmfn, SCRATCH_GFN + 3, FRESH_GFN + 4, 0), -XEN_EINVAL); /* moved away */
    REQUIRE_EQ(add_to_physmap(XENMAPSPACE_gmfn_range, FRESH_GFN + 3, SCRATCH_GFN + 3, 1), 0);
    CHECK_EQ(*frame(SCRATCH_GFN + 3), 0xabcdef);
    long before = current_pages();
    struct xen_remove_from_physmap r = {.domid = DOMID_SELF, .gpfn = SCRATCH_GFN + 3};
    CHECK_EQ(hypercall_memory_op(XENMEM_remove_from_physmap, &r), 0);
    CHECK_EQ(hypercall_memory_op(XENMEM_remove_from_physmap, &r), -XEN_ENOENT);
    CHECK_EQ(current_pages(), before);
    r.domid = 0;
    CHECK_EQ(hypercall_memory_op(XENMEM_remove_from_physmap, &r), -XEN_EPERM);
}

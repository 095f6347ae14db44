// The balloon hypercalls over the fake platform: extents of order 0, 9 and 18 out and back in, the
// memory's contents, and Xen's answers for the maximum reservation, bad orders, unpopulated extents
// and unreadable arguments (a count of extents done, never an errno).
#include <array>

#include "xen/abi/compat32.h"
#include "xen/abi/memory.h"
#include "xen/test_support.h"

namespace xkvm::xen::testing {
namespace {

using memory::GiB;
using memory::MiB;

constexpr uint64_t kRam = 1 * GiB + 8 * MiB;   // backing, all mapped by the platform at first
constexpr uint64_t kGrowth = 4 * MiB;          // its top, unmapped again: room to populate into
constexpr uint64_t kArgs = 1 * GiB + 1 * MiB;  // hypercall arguments, above the order-18 extent
constexpr uint64_t kList = kArgs + 0x1000;
constexpr uint64_t kMapped = (kRam - kGrowth) / memory::kPageSize;

struct Balloon : ::testing::Test {
    FakePlatform platform { kRam };
    std::unique_ptr<Domain> domain;
    std::unique_ptr<HypercallContext> last;

    void SetUp() override { make(18, kMapped + 512); }
    void make(unsigned max_order, uint64_t max_pages)
    {
        domain.reset();
        (void)platform.mem->unmap(kRam - kGrowth, kGrowth);
        DomainSetup s;
        s.domid = 7;
        s.max_vcpus = 1;
        s.ram_pages = kMapped;
        s.max_pages = max_pages;
        s.ram_backing = { { 0, kRam } };
        s.max_extent_order = max_order;
        s.shared_info_page = platform.mem->host_base() + platform.shared_info_offset;
        s.shared_info_offset = platform.shared_info_offset;
        domain = std::make_unique<Domain>(platform, s);
    }
    int64_t memop(uint64_t cmd, uint64_t arg, bool mode64 = true)
    {
        x86::PagingMode mode;
        last = std::make_unique<HypercallContext>(HypercallContext {
            *domain, 0, mode64, 0, XEN_HYPERCALL_memory_op, { cmd, arg, 0, 0, 0, 0 },
            x86::GuestVirtual(*platform.mem, mode) });
        return dispatch_hypercall(*last);
    }
    int64_t balloon(unsigned op, const std::vector<uint64_t>& gfns, unsigned order, uint64_t start = 0,
                    domid_t domid = DOMID_SELF, unsigned flags = 0)
    {
        for (size_t i = 0; i < gfns.size(); ++i)
            EXPECT_TRUE(platform.mem->write_obj<uint64_t>(kList + 8 * i, gfns[i]));
        xen_memory_reservation r {};
        r.extent_start = reinterpret_cast<xen_pfn_t*>(kList);
        r.nr_extents = gfns.size();
        r.extent_order = order;
        r.mem_flags = flags;
        r.domid = domid;
        EXPECT_TRUE(platform.mem->write_obj(kArgs, r));
        return memop(op | (start << 6), kArgs);
    }
    int64_t current()
    {
        EXPECT_TRUE(platform.mem->write_obj<domid_t>(kArgs, DOMID_SELF));
        return memop(XENMEM_current_reservation, kArgs);
    }
    bool mapped(uint64_t gfn) { return platform.mem->is_mapped(gfn * memory::kPageSize); }
    int64_t move(unsigned space, uint64_t idx, uint64_t gpfn, uint16_t size = 0, domid_t domid = DOMID_SELF)
    {
        xen_add_to_physmap a {};
        a.domid = domid;
        a.space = space;
        a.idx = idx;
        a.gpfn = gpfn;
        a.size = size;
        EXPECT_TRUE(platform.mem->write_obj(kArgs, a));
        return memop(XENMEM_add_to_physmap, kArgs);
    }
    int64_t remove(uint64_t gpfn, domid_t domid = DOMID_SELF)
    {
        xen_remove_from_physmap r {};
        r.domid = domid;
        r.gpfn = gpfn;
        EXPECT_TRUE(platform.mem->write_obj(kArgs, r));
        return memop(XENMEM_remove_from_physmap, kArgs);
    }
    uint64_t at(uint64_t gfn) { return platform.mem->read_obj<uint64_t>(gfn * memory::kPageSize).value_or(~0ull); }
    void add_shared_info(uint64_t gfn)
    {
        xen_add_to_physmap a {};
        a.domid = DOMID_SELF;
        a.space = XENMAPSPACE_shared_info;
        a.gpfn = gfn;
        ASSERT_TRUE(platform.mem->write_obj(kArgs, a));
        ASSERT_EQ(memop(XENMEM_add_to_physmap, kArgs), 0);
    }
};

// Xen 4.19: xen/common/memory.c, decrease_reservation / populate_physmap.
TEST_F(Balloon, OrderZeroOutAndBackIn)
{
    ASSERT_TRUE(platform.mem->write_obj<uint64_t>(0x5000, 0xdeadbeef));
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 5 }, 0), 1);
    EXPECT_FALSE(mapped(5));
    EXPECT_FALSE(platform.mem->read_obj<uint64_t>(0x5000));
    EXPECT_EQ(current(), int64_t(kMapped - 1));
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { 5 }, 0), 1);
    EXPECT_EQ(platform.mem->read_obj<uint64_t>(0x5000).value(), 0u); // fresh memory, not the old contents
    EXPECT_EQ(current(), int64_t(kMapped));
}

// Xen 4.19: xen/common/memory.c, decrease_reservation / populate_physmap.
TEST_F(Balloon, Order9And18OutAndBackIn)
{
    ASSERT_TRUE(platform.mem->fill(0x200000, 0x5a, 2 * MiB));
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 0x200, 0x600 }, 9), 2);
    EXPECT_FALSE(mapped(0x200));
    EXPECT_FALSE(mapped(0x7ff));
    EXPECT_TRUE(mapped(0x400));
    EXPECT_EQ(current(), int64_t(kMapped - 1024));
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { 0x200, 0x600 }, 9), 2);
    EXPECT_EQ(platform.mem->read_obj<uint8_t>(0x200000).value(), 0);

    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 0 }, 18), 1);
    EXPECT_FALSE(mapped(0x3ffff));
    EXPECT_EQ(current(), int64_t(kMapped - (1 << 18)));
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { 0 }, 18), 1);
    EXPECT_TRUE(mapped(0x3ffff));
    EXPECT_EQ(current(), int64_t(kMapped));
    // The backing came back as one aligned run: one physmap entry for the whole gigabyte.
    EXPECT_EQ(platform.mem->mapped_in(0, 1 * GiB).size(), 1u);
}

// Xen 4.19: xen/common/memory.c, populate_physmap / increase_reservation (domain over max_pages:
// the count so far).
TEST_F(Balloon, TheMaximumReservationStopsTheCount)
{
    // 512 pages of headroom over what is mapped, 1024 free in the growth area.
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { kMapped, kMapped + 512 }, 9), 1);
    EXPECT_FALSE(mapped(kMapped + 512));
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { kMapped + 512 }, 0), 0);
    EXPECT_EQ(balloon(XENMEM_increase_reservation, { 0 }, 0), 0);
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { kMapped }, 9), 1); // room again
    EXPECT_EQ(balloon(XENMEM_increase_reservation, { 0, 0, 0 }, 0), 3);
    EXPECT_EQ(current(), int64_t(kMapped + 3));
}

// Xen 4.19: xen/common/memory.c, do_memory_op (extent_order > max_order: 0).
TEST_F(Balloon, OrdersAboveTheLimitDoNothing)
{
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 0 }, 19), 0);
    make(9, kMapped + 512); // Xen's default for a domU
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 0 }, 10), 0);
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 0 }, 18), 0);
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { kMapped }, 10), 0);
    EXPECT_EQ(balloon(XENMEM_increase_reservation, { 0 }, 10), 0);
    EXPECT_TRUE(mapped(0));
    EXPECT_EQ(current(), int64_t(kMapped));
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 0 }, 9), 1);
}

// Xen 4.19: xen/common/memory.c, decrease_reservation (guest_remove_page fails: the count so far).
TEST_F(Balloon, ExtentsThatAreNotPopulatedStopTheCount)
{
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 9 }, 0), 1);
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 8, 9, 10 }, 0), 1); // 9 is gone already
    EXPECT_TRUE(mapped(10));
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { kMapped + 7 }, 0), 0); // never populated
    // An extent with a hole: the pages before it go (as Xen removes page by page), the extent fails.
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 0x1000 + 3 }, 0), 1);
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 0x1000 }, 9), 0);
    EXPECT_FALSE(mapped(0x1000));
    EXPECT_TRUE(mapped(0x1004));
    // Populating over something still there is refused too.
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { 0x1000 }, 9), 0);
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { 0x1000, 0x1001, 0x1002, 0x1003 }, 0), 4);
}

// Xen 4.19: xen/common/memory.c, decrease_reservation / guest_remove_page.
TEST_F(Balloon, FramesThatAreNotRamCannotBeBallooned)
{
    add_shared_info(0x80);
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 0x80 }, 0), 0);
    EXPECT_TRUE(mapped(0x80));
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { 1ull << 36 }, 0), 0); // beyond the DMA width
}

// Xen 4.19: xen/common/memory.c, do_memory_op (start_extent in cmd >> MEMOP_EXTENT_SHIFT;
// unreadable arguments: start_extent).
TEST_F(Balloon, ArgumentsAndContinuations)
{
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 20, 21, 22 }, 0, 1), 3); // starts at extent 1
    EXPECT_TRUE(mapped(20));
    EXPECT_FALSE(mapped(21));
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 30 }, 0, 5), 5);          // start past the end
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, { 30 }, 0, 0, 3), 0);       // another domain
    EXPECT_EQ(balloon(XENMEM_populate_physmap, { 21 }, 0, 0, DOMID_SELF, XENMEMF_populate_on_demand), 0);
    EXPECT_EQ(balloon(XENMEM_decrease_reservation, {}, 0), 0);
    EXPECT_EQ(memop(XENMEM_decrease_reservation, 0xfff00000000ull), 0); // unreadable arguments
    xen_memory_reservation r {};
    r.extent_start = reinterpret_cast<xen_pfn_t*>(0xfff00000000ull); // unreadable list
    r.nr_extents = 2;
    r.domid = DOMID_SELF;
    ASSERT_TRUE(platform.mem->write_obj(kArgs, r));
    EXPECT_EQ(memop(XENMEM_decrease_reservation, kArgs), 0);
    r.nr_extents = (UINT32_MAX >> 6) + 1; // too many to continue
    ASSERT_TRUE(platform.mem->write_obj(kArgs, r));
    EXPECT_EQ(memop(XENMEM_decrease_reservation, kArgs), 0);
}

// Xen 4.19: xen/common/memory.c, xenmem_add_to_physmap (XENMAPSPACE_gmfn) and
// xatp_permission_check.
TEST_F(Balloon, GmfnMovesARamPage)
{
    ASSERT_TRUE(platform.mem->write_obj<uint64_t>(0x30000, 0x30));
    ASSERT_TRUE(platform.mem->write_obj<uint64_t>(0x31000, 0x31));
    ASSERT_TRUE(platform.mem->write_obj<uint64_t>(0x32000, 0x32));
    EXPECT_EQ(move(XENMAPSPACE_gmfn, 0x30, kMapped + 10), 0); // to where there was nothing
    EXPECT_FALSE(mapped(0x30));
    EXPECT_EQ(at(kMapped + 10), 0x30u);
    EXPECT_EQ(current(), int64_t(kMapped));
    EXPECT_EQ(move(XENMAPSPACE_gmfn, 0x31, 0x32), 0); // over RAM: the page there is freed
    EXPECT_EQ(at(0x32), 0x31u);
    EXPECT_EQ(current(), int64_t(kMapped - 1));
    EXPECT_EQ(move(XENMAPSPACE_gmfn, 0x31, 0x33), -XEN_EINVAL); // nothing at the source now
    add_shared_info(0x80);
    EXPECT_EQ(move(XENMAPSPACE_gmfn, 0x34, 0x80), -XEN_EINVAL); // not over shared_info
    EXPECT_EQ(move(XENMAPSPACE_gmfn, 0x80, 0x34), -XEN_EINVAL); // nor shared_info itself
    EXPECT_EQ(move(XENMAPSPACE_gmfn, 0x34, 0x35, 0, 0), -XEN_EPERM); // memory.c, xatp_permission_check
    EXPECT_EQ(move(XENMAPSPACE_gmfn, 0x34, 0x35, 0, 3), -XEN_ESRCH); // rcu_lock_domain_by_any_id
    EXPECT_EQ(move(XENMAPSPACE_gmfn, 0x34, 1ull << 40), -XEN_EINVAL);
}

// Xen 4.19: xen/common/memory.c, xenmem_add_to_physmap (XENMAPSPACE_gmfn_range: page by page, stops
// at an error).
TEST_F(Balloon, GmfnRangeMovesPageByPage)
{
    EXPECT_EQ(move(XENMAPSPACE_gmfn_range, 0x40, kMapped + 0x40, 3), 0);
    EXPECT_FALSE(mapped(0x42));
    EXPECT_TRUE(mapped(kMapped + 0x42));
    ASSERT_EQ(balloon(XENMEM_decrease_reservation, { 0x61 }, 0), 1);
    EXPECT_EQ(move(XENMAPSPACE_gmfn_range, 0x60, kMapped + 0x60, 3), -XEN_EINVAL);
    EXPECT_TRUE(mapped(kMapped + 0x60)); // the first moved before the hole stopped it
    EXPECT_FALSE(mapped(kMapped + 0x61));
    EXPECT_TRUE(mapped(0x62));
}

// Mirror of the balloon guest's add_to_physmap_batch_reports_each_frame. common/memory.c:
// xenmem_add_to_physmap_batch puts each frame's result in errs[]; do_memory_op refuses
// XENMAPSPACE_gmfn_range with -EOPNOTSUPP before looking the domain up; an unwritable errs list
// is -EFAULT.
TEST_F(Balloon, AddToPhysmapBatchReportsEachFrame)
{
    constexpr uint64_t kIdxs = kList, kGpfns = kList + 0x100, kErrs = kList + 0x200;
    ASSERT_TRUE(platform.mem->write_obj<uint64_t>(0x50000, 0x5151));
    std::array<uint64_t, 3> idxs { 0x50, kMapped + 7, kMapped + 5 };
    std::array<uint64_t, 3> gpfns { kMapped + 5, kMapped + 8, 0x50 };
    std::array<int32_t, 3> errs { 1, 1, 1 };
    ASSERT_TRUE(platform.mem->write_obj(kIdxs, idxs));
    ASSERT_TRUE(platform.mem->write_obj(kGpfns, gpfns));
    ASSERT_TRUE(platform.mem->write_obj(kErrs, errs));
    xen_add_to_physmap_batch b {};
    b.domid = DOMID_SELF;
    b.space = XENMAPSPACE_gmfn;
    b.size = 3;
    b.idxs = reinterpret_cast<xen_ulong_t*>(kIdxs);
    b.gpfns = reinterpret_cast<xen_pfn_t*>(kGpfns);
    b.errs = reinterpret_cast<int*>(kErrs);
    ASSERT_TRUE(platform.mem->write_obj(kArgs, b));
    EXPECT_EQ(memop(XENMEM_add_to_physmap_batch, kArgs), 0);
    errs = platform.mem->read_obj<std::array<int32_t, 3>>(kErrs).value();
    EXPECT_EQ(errs, (std::array<int32_t, 3> { 0, -XEN_EINVAL, 0 }));
    EXPECT_EQ(at(0x50), 0x5151u);
    b.space = XENMAPSPACE_gmfn_range;
    b.domid = 0x7000; // the space is refused first
    ASSERT_TRUE(platform.mem->write_obj(kArgs, b));
    EXPECT_EQ(memop(XENMEM_add_to_physmap_batch, kArgs), -XEN_EOPNOTSUPP);
    b.space = XENMAPSPACE_gmfn;
    ASSERT_TRUE(platform.mem->write_obj(kArgs, b));
    EXPECT_EQ(memop(XENMEM_add_to_physmap_batch, kArgs), -XEN_ESRCH);
    b.domid = 0;
    ASSERT_TRUE(platform.mem->write_obj(kArgs, b));
    EXPECT_EQ(memop(XENMEM_add_to_physmap_batch, kArgs), -XEN_EPERM);
    b.domid = DOMID_SELF;
    b.errs = reinterpret_cast<int*>(0x7fff0000000ull);
    ASSERT_TRUE(platform.mem->write_obj(kArgs, b));
    EXPECT_EQ(memop(XENMEM_add_to_physmap_batch, kArgs), -XEN_EFAULT);
}

// Xen 4.19: xen/common/memory.c, do_memory_op (XENMEM_remove_from_physmap:
// rcu_lock_domain_by_any_id, XSM_TARGET, guest_remove_page).
TEST_F(Balloon, RemoveFromPhysmap)
{
    EXPECT_EQ(remove(0x70), 0);
    EXPECT_FALSE(mapped(0x70));
    EXPECT_EQ(current(), int64_t(kMapped)); // still counted, as on Xen
    EXPECT_EQ(remove(0x70), -XEN_ENOENT);
    EXPECT_EQ(remove(kMapped + 3), -XEN_ENOENT);
    EXPECT_EQ(remove(0x71, 0), -XEN_EPERM); // memory.c, XENMEM_remove_from_physmap: XSM_TARGET
    EXPECT_EQ(remove(0x71, 3), -XEN_ESRCH); // rcu_lock_domain_by_any_id
    add_shared_info(0x80);
    EXPECT_EQ(remove(0x80), 0); // unhooked
    EXPECT_FALSE(mapped(0x80));
    EXPECT_FALSE(domain->shared_info_gfn());
    xen_remove_from_physmap_compat32 r { DOMID_SELF, 0x72 };
    ASSERT_TRUE(platform.mem->write_obj(kArgs, r));
    EXPECT_EQ(memop(XENMEM_remove_from_physmap, kArgs, false), 0);
    EXPECT_FALSE(mapped(0x72));
}

// Xen 4.19: xen/common/compat/memory.c, compat_memory_op.
TEST_F(Balloon, ThirtyTwoBitCallers)
{
    ASSERT_TRUE(platform.mem->write_obj<uint32_t>(kList, 40));
    ASSERT_TRUE(platform.mem->write_obj<uint32_t>(kList + 4, 41));
    xen_memory_reservation_compat32 r { static_cast<uint32_t>(kList), 2, 0, 0, DOMID_SELF };
    ASSERT_TRUE(platform.mem->write_obj(kArgs, r));
    EXPECT_EQ(memop(XENMEM_decrease_reservation, kArgs, false), 2);
    EXPECT_FALSE(mapped(41));
    EXPECT_EQ(memop(XENMEM_populate_physmap, kArgs, false), 2);
    EXPECT_TRUE(mapped(41));
}

} // namespace
} // namespace xkvm::xen::testing

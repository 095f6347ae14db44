// Issue 11: a guest that moves shared_info around (XENMEM_add_to_physmap) leaves its RAM whole: the
// page a move displaced comes back when shared_info leaves, and the physmap does not fragment.
#include "xen/abi/memory.h"
#include "xen/test_support.h"

using namespace xkvm;
using namespace xkvm::xen;
using namespace xkvm::xen::testing;

namespace {

struct SharedInfoMoves : XenFixture {
    int64_t move_to(uint64_t gfn)
    {
        xen_add_to_physmap a {};
        a.domid = DOMID_SELF;
        a.space = XENMAPSPACE_shared_info;
        a.gpfn = gfn;
        put(a, kScratch + 0x800);
        return call(XEN_HYPERCALL_memory_op, XENMEM_add_to_physmap, kScratch + 0x800);
    }
    // Mappings that are not the shared_info page.
    size_t ram_mappings() const
    {
        size_t n = 0;
        for (const auto& m : platform.mem->mappings())
            n += m.offset != platform.shared_info_offset;
        return n;
    }
};

} // namespace

// DIFF(shared_info_move_restores_ram): Xen leaves a hole where shared_info was.
TEST_F(SharedInfoMoves, AThousandMovesLeaveRamWholeAndTheMapUnfragmented)
{
    size_t before = platform.mem->mappings().size();
    // A mark in each page that shared_info will sit on for a while.
    for (uint64_t gfn = 0x300; gfn < 0x300 + 1000; ++gfn)
        ASSERT_TRUE(platform.mem->write_obj(gfn << 12, gfn));
    for (uint64_t i = 0; i < 1000; ++i) {
        ASSERT_EQ(move_to(0x300 + i), 0) << i;
        ASSERT_EQ(*domain->shared_info_gfn(), 0x300 + i);
        // The RAM around it is at most split in two.
        ASSERT_LE(ram_mappings(), before + 1) << "after move " << i;
    }
    ASSERT_EQ(move_to(0x10), 0);
    // Every page it sat on is RAM again, with what the guest had written there.
    for (uint64_t gfn = 0x300; gfn < 0x300 + 1000; ++gfn)
        ASSERT_EQ(platform.mem->read_obj<uint64_t>(gfn << 12).value(), gfn) << std::hex << gfn;
    EXPECT_LE(ram_mappings(), before + 1);
    // Moved past the end of RAM (nothing there), and away again: nothing stays there either.
    ASSERT_FALSE(platform.mem->is_mapped(0x2000000));
    ASSERT_EQ(move_to(0x2000), 0);
    EXPECT_TRUE(platform.mem->is_mapped(0x2000000));
    ASSERT_EQ(move_to(0x400), 0);
    EXPECT_FALSE(platform.mem->is_mapped(0x2000000));
    EXPECT_TRUE(platform.mem->is_mapped(0x10000));
}

// Xen 4.19: xen/common/memory.c, xenmem_add_to_physmap (XENMAPSPACE_shared_info: a failed move
// leaves the old mapping).
TEST_F(SharedInfoMoves, AMoveThatCannotBeMadeChangesNothing)
{
    ASSERT_EQ(move_to(0x200), 0);
    platform.mem->host_base()[platform.shared_info_offset + 8] = 0x5a;
    EXPECT_EQ(move_to(uint64_t(1) << 40), -XEN_EINVAL);
    EXPECT_EQ(*domain->shared_info_gfn(), 0x200u);
    EXPECT_EQ(platform.mem->read_obj<uint8_t>(0x200008).value(), 0x5a);
    // The same place again is no move at all.
    EXPECT_EQ(move_to(0x200), 0);
    EXPECT_EQ(platform.mem->read_obj<uint8_t>(0x200008).value(), 0x5a);
}

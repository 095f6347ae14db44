#include "x86/guest_virtual.h"
#include "x86/page_walk.h"

#include <gtest/gtest.h>

using namespace xkvm;
using namespace xkvm::x86;
using memory::kPageSize;

namespace {

constexpr uint64_t P = 1, W = 2, U = 4, PS = 0x80;

struct PagingFixture : ::testing::Test {
    std::unique_ptr<memory::Physmap> mem;
    void SetUp() override
    {
        mem = memory::Physmap::create(4 * memory::MiB, "walk").release_value();
        ASSERT_TRUE(mem->map(0, 4 * memory::MiB, 0));
    }
    void put64(uint64_t gpa, uint64_t v) { ASSERT_TRUE(mem->write_obj(gpa, v)); }
    void put32(uint64_t gpa, uint32_t v) { ASSERT_TRUE(mem->write_obj(gpa, v)); }
};

PagingMode long_mode(uint64_t cr3)
{
    PagingMode m;
    m.cr0 = kCr0Pe | kCr0Pg | kCr0Wp;
    m.cr4 = kCr4Pae;
    m.efer = kEferLme | kEferLma;
    m.cr3 = cr3;
    m.cs_long = true;
    return m;
}

} // namespace

TEST_F(PagingFixture, NoPagingIsIdentity)
{
    PagingMode m;
    m.cr0 = kCr0Pe;
    EXPECT_EQ(translate(*mem, m, 0x12345, {}).value(), 0x12345u);
}

TEST_F(PagingFixture, FourLevelWith4KAnd2MPages)
{
    // PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000.
    put64(0x1000, 0x2000 | P | W | U);
    put64(0x2000, 0x3000 | P | W | U);
    put64(0x3000 + 0 * 8, 0x4000 | P | W | U);      // VA 0-2M through a page table
    put64(0x3000 + 1 * 8, 0x200000 | P | PS);       // VA 2M-4M: one 2 MiB supervisor read-only page
    put64(0x4000 + 5 * 8, 0x9000 | P | W | U);      // VA 0x5000 -> 0x9000
    PagingMode m = long_mode(0x1000);

    EXPECT_EQ(translate(*mem, m, 0x5123, {}).value(), 0x9123u);
    EXPECT_EQ(translate(*mem, m, 0x234567, {}).value(), 0x234567u);
    EXPECT_EQ(translate(*mem, m, 0x6000, {}).error().code, EFAULT);              // PTE not present
    EXPECT_EQ(translate(*mem, m, 0x234567, { true, false }).error().code, EFAULT); // RO with WP
    EXPECT_EQ(translate(*mem, m, 0x234567, { false, true }).error().code, EFAULT); // supervisor page
    EXPECT_TRUE(translate(*mem, m, 0x5000, { true, true }));
    EXPECT_EQ(translate(*mem, m, 0x0000800000000000ull, {}).error().code, EFAULT); // non-canonical
}

TEST_F(PagingFixture, ReadOnlyPageWritableBySupervisorWithoutWp)
{
    put64(0x1000, 0x2000 | P | W);
    put64(0x2000, 0x3000 | P | W);
    put64(0x3000, 0x0 | P | PS); // VA 0-2M read-only
    PagingMode m = long_mode(0x1000);
    EXPECT_EQ(translate(*mem, m, 0x100, { true, false }).error().code, EFAULT);
    m.cr0 &= ~kCr0Wp;
    EXPECT_TRUE(translate(*mem, m, 0x100, { true, false }));
}

TEST_F(PagingFixture, PaeThreeLevel)
{
    // PDPT at 0x1000 (32-byte aligned), PD at 0x2000, PT at 0x3000.
    put64(0x1000 + 3 * 8, 0x2000 | P); // VA 0xC0000000..
    put64(0x2000, 0x3000 | P | W);
    put64(0x3000 + 2 * 8, 0x7000 | P | W);
    PagingMode m;
    m.cr0 = kCr0Pe | kCr0Pg;
    m.cr4 = kCr4Pae;
    m.cr3 = 0x1000;
    EXPECT_EQ(translate(*mem, m, 0xC0002010, {}).value(), 0x7010u);
    EXPECT_EQ(translate(*mem, m, 0x00002010, {}).error().code, EFAULT);
}

TEST_F(PagingFixture, ThirtyTwoBitWith4MPages)
{
    put32(0x1000 + 1 * 4, 0x3000 | P | W);       // VA 4M..8M via PT at 0x3000
    put32(0x3000 + 1 * 4, 0x5000 | P | W);       // VA 0x401000 -> 0x5000
    put32(0x1000 + 2 * 4, 0x00000000 | P | PS);  // VA 8M..12M -> 0 (4 MiB page)
    PagingMode m;
    m.cr0 = kCr0Pe | kCr0Pg;
    m.cr4 = kCr4Pse;
    m.cr3 = 0x1000;
    EXPECT_EQ(translate(*mem, m, 0x401abc, {}).value(), 0x5abcu);
    EXPECT_EQ(translate(*mem, m, 0x812345, {}).value(), 0x12345u);
    EXPECT_EQ(translate(*mem, m, 0xC00000, {}).error().code, EFAULT);
}

TEST_F(PagingFixture, PageTablesOutsideMemoryFault)
{
    PagingMode m = long_mode(0x40000000); // CR3 beyond guest RAM
    EXPECT_EQ(translate(*mem, m, 0x1000, {}).error().code, EFAULT);
}

TEST_F(PagingFixture, GuestVirtualCopiesAcrossPages)
{
    put64(0x1000, 0x2000 | P | W);
    put64(0x2000, 0x3000 | P | W);
    put64(0x3000, 0x4000 | P | W);
    put64(0x4000 + 0x10 * 8, 0x20000 | P | W); // VA 0x10000 -> 0x20000
    put64(0x4000 + 0x11 * 8, 0x50000 | P | W); // VA 0x11000 -> 0x50000 (not contiguous)
    GuestVirtual gv(*mem, long_mode(0x1000));
    uint64_t v = 0x0102030405060708;
    ASSERT_TRUE(gv.write_obj(0x10ffc, v));
    EXPECT_EQ(gv.read_obj<uint64_t>(0x10ffc).value(), v);
    EXPECT_EQ(mem->read_obj<uint32_t>(0x20ffc).value(), 0x05060708u);
    EXPECT_EQ(mem->read_obj<uint32_t>(0x50000).value(), 0x01020304u);
    EXPECT_EQ(gv.read_obj<uint64_t>(0x11ffc).error().code, EFAULT); // runs into an unmapped page
    EXPECT_EQ(gv.read_obj<uint64_t>(~0ull - 3).error().code, EFAULT);
}

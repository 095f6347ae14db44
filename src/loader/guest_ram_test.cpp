#include "loader/guest_ram.h"

#include <gtest/gtest.h>

using namespace xkvm;
using namespace xkvm::loader;
using memory::MapEntry;
using memory::MemoryMap;
using memory::RegionType;

namespace {

// Low RAM, a legacy hole marked reserved, RAM to 16 MiB, a hole, RAM split in two touching entries.
MemoryMap test_map()
{
    return {
        { 0x0, 0x9f000, RegionType::Ram, "" },
        { 0x9f000, 0x61000, RegionType::Reserved, "legacy" },
        { 0x100000, 0xf00000, RegionType::Ram, "" },
        { 0x2000000, 0x1000000, RegionType::Ram, "" },
        { 0x3000000, 0x1000000, RegionType::Ram, "" },
        { 0x4000000, 0x1000, RegionType::Acpi, "tables" },
    };
}

} // namespace

TEST(LoaderGuestRam, RunsMergeTouchingEntries)
{
    auto runs = ram_runs(test_map());
    ASSERT_EQ(runs.size(), 3u);
    EXPECT_EQ(runs[2].base, 0x2000000u);
    EXPECT_EQ(runs[2].size, 0x2000000u);
}

TEST(LoaderGuestRam, Covers)
{
    auto map = test_map();
    EXPECT_TRUE(ram_covers(map, 0x100000, 0xf00000));
    EXPECT_TRUE(ram_covers(map, 0x2fff000, 0x2000)); // across two touching RAM entries
    EXPECT_FALSE(ram_covers(map, 0x9e000, 0x2000));  // into the reserved region
    EXPECT_FALSE(ram_covers(map, 0x1000000, 0x1000)); // in the hole
    EXPECT_FALSE(ram_covers(map, 0x3fff000, 0x2000)); // off the end of RAM into ACPI
    EXPECT_FALSE(ram_covers(map, ~0ull - 0xfff, 0x2000)); // wraps
    EXPECT_TRUE(ram_covers(map, 0x5000000, 0));
}

TEST(LoaderGuestRam, FirstNonRamOverlap)
{
    auto map = test_map();
    auto r = first_non_ram_overlap(map, 0x90000, 0x100000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->why, "legacy");
    EXPECT_FALSE(first_non_ram_overlap(map, 0x1000000, 0x1000)); // a hole overlaps no entry
    EXPECT_EQ(first_non_ram_overlap(map, 0x3000000, ~0ull)->type, RegionType::Acpi);
}

TEST(LoaderGuestRam, FindFreeRam)
{
    auto map = test_map();
    std::vector<GpaRange> occupied = { { 0x100000, 0x10000 }, { 0x111000, 0x1 } };
    EXPECT_EQ(find_free_ram(map, occupied, 0x1000, 0x100000, ~0ull), 0x110000u);
    EXPECT_EQ(find_free_ram(map, occupied, 0x2000, 0x100000, ~0ull), 0x112000u);
    EXPECT_EQ(find_free_ram(map, occupied, 0x1000, 0x100001, ~0ull), 0x110000u); // rounded up to a page
    // Does not fit before the hole: continues in the next run.
    EXPECT_EQ(find_free_ram(map, occupied, 0x2000, 0xfff000, ~0ull), 0x2000000u);
    // The limit excludes the high runs.
    EXPECT_FALSE(find_free_ram(map, occupied, 0x2000, 0xfff000, 0x2001000));
    EXPECT_FALSE(find_free_ram(map, occupied, 0x3000000, 0, ~0ull)); // larger than any run
    EXPECT_FALSE(find_free_ram(map, occupied, 0, 0, ~0ull));
    EXPECT_FALSE(find_free_ram(map, occupied, 0x1000, ~0ull - 10, ~0ull)); // no overflow when rounding
    EXPECT_EQ(find_free_ram(map, occupied, 0x1000, 0x1000, ~0ull), 0x1000u);
}

TEST(LoaderGuestRam, DescribeRange)
{
    EXPECT_EQ(describe_range(0x1000, 0x1000), "[0x1000-0x1fff]");
    EXPECT_EQ(describe_range(0x1000, 0), "[0x1000+0]");
    EXPECT_EQ(describe_range(~0ull, 2), "[0xffffffffffffffff+0x2]");
}

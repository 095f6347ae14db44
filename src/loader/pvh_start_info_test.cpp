#include "loader/pvh_start_info.h"

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "xen/abi/hvm.h"

using namespace xkvm;
using namespace xkvm::loader;
using memory::MemoryMap;
using memory::RegionType;
using ::testing::HasSubstr;

namespace {

MemoryMap map_64m()
{
    return {
        { 0x0, 0xa0000, RegionType::Ram, "" },
        { 0xa0000, 0x60000, RegionType::Reserved, "" },
        { 0x100000, 0x3f00000, RegionType::Ram, "" },
        { 0xfc000000, 0x1000, RegionType::Reserved, "ioapic" },
    };
}

template<typename T>
T get(const std::vector<uint8_t>& block, uint64_t offset)
{
    T v;
    EXPECT_LE(offset + sizeof(T), block.size());
    std::memcpy(&v, block.data() + offset, sizeof(T));
    return v;
}

bool disjoint(GpaRange a, GpaRange b) { return a.end() <= b.base || b.end() <= a.base; }

} // namespace

TEST(LoaderPvhLayout, BlockAfterImageThenRamdisk)
{
    auto map = map_64m();
    std::vector<GpaRange> image = { { 0x1000000, 0x3000 }, { 0x1004000, 0x1800 } };
    PvhBootData data { "console=hvc0", 10000, 0 };
    auto l = plan_pvh_layout(map, image, data);
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_EQ(l->start_info, 0x1006000u); // first page boundary past 0x1005800
    EXPECT_EQ(l->memmap, l->start_info + sizeof(hvm_start_info));
    EXPECT_EQ(l->memmap_entries, 4u);
    EXPECT_EQ(l->modlist, l->memmap + 4 * sizeof(hvm_memmap_table_entry));
    EXPECT_EQ(l->cmdline, l->modlist + sizeof(hvm_modlist_entry));
    EXPECT_EQ(l->block_size, l->cmdline - l->start_info + 13);
    EXPECT_EQ(l->ramdisk, 0x1007000u);
    EXPECT_EQ(l->ramdisk % memory::kPageSize, 0u);
    EXPECT_EQ(l->ramdisk_size, 10000u);
    for (const auto& r : image) {
        EXPECT_TRUE(disjoint(r, l->block()));
        EXPECT_TRUE(disjoint(r, l->ramdisk_range()));
    }
    EXPECT_TRUE(disjoint(l->block(), l->ramdisk_range()));
}

TEST(LoaderPvhLayout, NoRamdiskNoCmdline)
{
    auto map = map_64m();
    std::vector<GpaRange> image = { { 0x100000, 0x1000 } };
    auto l = plan_pvh_layout(map, image, {});
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_EQ(l->start_info, 0x101000u);
    EXPECT_EQ(l->modlist, 0u);
    EXPECT_EQ(l->cmdline, 0u);
    EXPECT_EQ(l->ramdisk, 0u);
    auto block = build_pvh_block(*l, map, {});
    EXPECT_EQ(block.size(), sizeof(hvm_start_info) + 4 * sizeof(hvm_memmap_table_entry));
    auto si = get<hvm_start_info>(block, 0);
    EXPECT_EQ(si.nr_modules, 0u);
    EXPECT_EQ(si.modlist_paddr, 0u);
    EXPECT_EQ(si.cmdline_paddr, 0u);
}

TEST(LoaderPvhLayout, FallsBackBelowImageWhenNothingFitsAbove)
{
    auto map = map_64m();
    // The image fills RAM from 1 MiB to the top: the boot data goes into low RAM, never page 0.
    std::vector<GpaRange> image = { { 0x100000, 0x3f00000 } };
    auto l = plan_pvh_layout(map, image, { "x", 0x5000, 0 });
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_EQ(l->start_info, 0x1000u);
    EXPECT_EQ(l->ramdisk, 0x2000u);
}

TEST(LoaderPvhLayout, NoRoom)
{
    auto map = map_64m();
    std::vector<GpaRange> image = { { 0x100000, 0x3f00000 } };
    auto l = plan_pvh_layout(map, image, { "", 0x100000, 0 }); // 1 MiB ramdisk fits nowhere
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().code, ENOSPC);
    EXPECT_THAT(l.error().message, HasSubstr("ramdisk"));
    MemoryMap tiny = { { 0x0, 0x1000, RegionType::Ram, "" } }; // only page 0, which is never used
    auto t = plan_pvh_layout(tiny, {}, {});
    ASSERT_FALSE(t);
    EXPECT_THAT(t.error().message, HasSubstr("PVH boot data"));
}

TEST(LoaderPvhLayout, StaysBelow4GiB)
{
    MemoryMap map = {
        { 0x100000, 0x1000, RegionType::Ram, "" },
        { 0x100000000ull, 0x40000000, RegionType::Ram, "" },
    };
    std::vector<GpaRange> image = { { 0x100000, 0x1000 } };
    auto l = plan_pvh_layout(map, image, {});
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().code, ENOSPC);
}

TEST(LoaderPvhLayout, CommandLineBounds)
{
    EXPECT_TRUE(check_cmdline(""));
    EXPECT_TRUE(check_cmdline(std::string(kMaxCmdlineBytes - 1, 'a')));
    auto st = check_cmdline(std::string(kMaxCmdlineBytes, 'a'));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, EINVAL);
    EXPECT_THAT(st.error().message, HasSubstr("4096 bytes long; at most 4095"));
    EXPECT_THAT(check_cmdline(std::string("a\0b", 3)).error().message, HasSubstr("NUL"));
    auto map = map_64m();
    std::string huge(100000, 'x');
    EXPECT_EQ(plan_pvh_layout(map, {}, { huge, 0, 0 }).error().code, EINVAL);
}

TEST(LoaderPvhLayout, BlockContents)
{
    auto map = map_64m();
    std::vector<GpaRange> image = { { 0x200000, 0x1000 } };
    PvhBootData data { "root=/dev/xvda1 quiet", 0x4321, 0xe0000 };
    auto l = plan_pvh_layout(map, image, data);
    ASSERT_TRUE(l) << l.error().message;
    auto block = build_pvh_block(*l, map, data);
    ASSERT_EQ(block.size(), l->block_size);

    auto si = get<hvm_start_info>(block, 0);
    EXPECT_EQ(si.magic, XEN_HVM_START_MAGIC_VALUE);
    EXPECT_EQ(si.version, 1u);
    EXPECT_EQ(si.flags, 0u);
    EXPECT_EQ(si.nr_modules, 1u);
    EXPECT_EQ(si.modlist_paddr, l->modlist);
    EXPECT_EQ(si.cmdline_paddr, l->cmdline);
    EXPECT_EQ(si.rsdp_paddr, 0xe0000u);
    EXPECT_EQ(si.memmap_paddr, l->memmap);
    EXPECT_EQ(si.memmap_entries, 4u);
    EXPECT_EQ(si.memmap_paddr % 8, 0u);

    for (size_t i = 0; i < map.size(); i++) {
        auto e = get<hvm_memmap_table_entry>(block, l->memmap - l->start_info + i * sizeof(hvm_memmap_table_entry));
        EXPECT_EQ(e.addr, map[i].base);
        EXPECT_EQ(e.size, map[i].size);
        EXPECT_EQ(e.type, static_cast<uint32_t>(map[i].type));
        EXPECT_EQ(e.reserved, 0u);
    }
    auto mod = get<hvm_modlist_entry>(block, l->modlist - l->start_info);
    EXPECT_EQ(mod.paddr, l->ramdisk);
    EXPECT_EQ(mod.size, 0x4321u);
    EXPECT_EQ(mod.cmdline_paddr, 0u);
    std::string cmdline(reinterpret_cast<const char*>(block.data() + (l->cmdline - l->start_info)));
    EXPECT_EQ(cmdline, "root=/dev/xvda1 quiet");
    EXPECT_EQ(block.back(), 0);
}

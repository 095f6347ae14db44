// parse_elf on arbitrary bytes, then what the loader does with an accepted image short of writing guest
// memory: choose the entry for each protocol, check the segments against a memory map, place and build
// the PVH boot data.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "loader/elf_image.h"
#include "loader/guest_ram.h"
#include "loader/loader.h"
#include "loader/pvh_start_info.h"

using namespace xkvm;
using namespace xkvm::loader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto image = parse_elf(std::span(data, size));
    if (!image)
        return 0;
    if (image->segments.empty() || image->high() < image->low())
        __builtin_trap();

    (void)boot_entry(*image, BootProtocol::Pvh);
    (void)boot_entry(*image, BootProtocol::HvmFirmware);
    (void)image->notes.summary();

    static const memory::MemoryMap map = {
        { 0x0, 0x9f000, memory::RegionType::Ram, "" },
        { 0x9f000, 0x61000, memory::RegionType::Reserved, "" },
        { 0x100000, 0x7f00000, memory::RegionType::Ram, "" },
        { 0xfc000000, 0x1000, memory::RegionType::Reserved, "" },
        { 0x100000000ull, 0x40000000, memory::RegionType::Ram, "" },
    };
    std::vector<GpaRange> ranges;
    for (const auto& s : image->segments) {
        if (!ram_covers(map, s.paddr, s.mem_size))
            return 0;
        ranges.push_back({ s.paddr, s.mem_size });
    }
    PvhBootData boot { "console=hvc0", 0x12345, 0 };
    auto layout = plan_pvh_layout(map, ranges, boot);
    if (!layout)
        return 0;
    for (const auto& r : ranges)
        if (r.base < layout->block().end() && layout->block().base < r.end())
            __builtin_trap(); // boot data on top of the image
    auto block = build_pvh_block(*layout, map, boot);
    if (block.size() != layout->block_size)
        __builtin_trap();
    return 0;
}

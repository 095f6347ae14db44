#include "loader/pvh_start_info.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "xen/abi/hvm.h"

namespace xkvm::loader {

using memory::Gpa;

namespace {

uint64_t align8(uint64_t v) { return (v + 7) & ~uint64_t(7); }

template<typename T>
void put(std::vector<uint8_t>& block, uint64_t offset, const T& value)
{
    std::memcpy(block.data() + offset, &value, sizeof(T));
}

// The lowest free place for `size` bytes above `from`, else anywhere above page 0.
std::optional<Gpa> place(const memory::MemoryMap& map, std::span<const GpaRange> occupied, uint64_t size, Gpa from)
{
    if (auto at = find_free_ram(map, occupied, size, std::max(from, memory::kPageSize), kBootDataLimit))
        return at;
    return find_free_ram(map, occupied, size, memory::kPageSize, kBootDataLimit);
}

} // namespace

Status check_cmdline(std::string_view cmdline)
{
    if (cmdline.size() >= kMaxCmdlineBytes)
        return fail(EINVAL, "command line is {} bytes long; at most {} are allowed", cmdline.size(),
                    kMaxCmdlineBytes - 1);
    if (cmdline.find('\0') != std::string_view::npos)
        return fail(EINVAL, "command line contains a NUL byte");
    return {};
}

Result<PvhLayout> plan_pvh_layout(const memory::MemoryMap& map, std::span<const GpaRange> image,
                                  const PvhBootData& data)
{
    TRY(check_cmdline(data.cmdline));
    if (map.size() > UINT32_MAX)
        return fail(EINVAL, "memory map has too many entries ({})", map.size());

    PvhLayout l;
    l.memmap_entries = static_cast<uint32_t>(map.size());
    uint64_t offset = align8(sizeof(hvm_start_info));
    uint64_t memmap_off = offset;
    offset = align8(offset + map.size() * sizeof(hvm_memmap_table_entry));
    uint64_t modlist_off = offset;
    if (data.ramdisk_size)
        offset += sizeof(hvm_modlist_entry);
    uint64_t cmdline_off = offset;
    if (!data.cmdline.empty())
        offset += data.cmdline.size() + 1;
    l.block_size = offset;

    Gpa image_end = 0;
    for (const auto& r : image)
        image_end = std::max(image_end, r.end());
    auto block_at = place(map, image, l.block_size, image_end);
    if (!block_at)
        return fail(ENOSPC, "no room in guest RAM below 4 GiB for {} bytes of PVH boot data", l.block_size);
    l.start_info = *block_at;
    l.memmap = l.start_info + memmap_off;
    l.modlist = data.ramdisk_size ? l.start_info + modlist_off : 0;
    l.cmdline = data.cmdline.empty() ? 0 : l.start_info + cmdline_off;

    if (data.ramdisk_size) {
        std::vector<GpaRange> occupied(image.begin(), image.end());
        occupied.push_back(l.block());
        auto rd_at = place(map, occupied, data.ramdisk_size, l.block().end());
        if (!rd_at)
            return fail(ENOSPC, "no room in guest RAM below 4 GiB for the {}-byte ramdisk", data.ramdisk_size);
        l.ramdisk = *rd_at;
        l.ramdisk_size = data.ramdisk_size;
    }
    return l;
}

std::vector<uint8_t> build_pvh_block(const PvhLayout& l, const memory::MemoryMap& map, const PvhBootData& data)
{
    std::vector<uint8_t> block(l.block_size, 0);
    hvm_start_info si {};
    si.magic = XEN_HVM_START_MAGIC_VALUE;
    si.version = 1;
    si.flags = 0;
    si.nr_modules = l.modlist ? 1 : 0;
    si.modlist_paddr = l.modlist;
    si.cmdline_paddr = l.cmdline;
    si.rsdp_paddr = data.rsdp_paddr;
    si.memmap_paddr = l.memmap;
    si.memmap_entries = l.memmap_entries;
    put(block, 0, si);

    uint64_t offset = l.memmap - l.start_info;
    for (const auto& e : map) {
        hvm_memmap_table_entry entry {};
        entry.addr = e.base;
        entry.size = e.size;
        entry.type = static_cast<uint32_t>(e.type);
        put(block, offset, entry);
        offset += sizeof(entry);
    }
    if (l.modlist) {
        hvm_modlist_entry mod {};
        mod.paddr = l.ramdisk;
        mod.size = l.ramdisk_size;
        put(block, l.modlist - l.start_info, mod);
    }
    if (l.cmdline)
        std::memcpy(block.data() + (l.cmdline - l.start_info), data.cmdline.data(), data.cmdline.size());
    return block;
}

} // namespace xkvm::loader

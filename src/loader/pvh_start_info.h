// Where the PVH boot data goes in guest memory, and its bytes: the hvm_start_info that ebx points at,
// the memory map table, the module list (the ramdisk as module 0) and the command line.
//
// Placement: the start info, memory map, module list and command line form one block, placed at the
// first page boundary at or above the end of the loaded image where it fits wholly in RAM and clear
// of the image; the ramdisk follows at the next page boundary that fits. Only when nothing fits above
// the image is the search repeated from the second page of memory up (page 0 is never used, so a
// start info address is never 0). Everything stays below 4 GiB, as the guest starts with paging off.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "loader/guest_ram.h"
#include "memory/memory_map.h"

namespace xkvm::loader {

// Longest command line including its NUL, as Xen bounds a guest command line too.
inline constexpr size_t kMaxCmdlineBytes = 4096;
// Boot data must be reachable by a 32-bit guest with paging off.
inline constexpr memory::Gpa kBootDataLimit = 4 * memory::GiB;

struct PvhBootData {
    std::string_view cmdline;  // empty: cmdline_paddr is 0
    uint64_t ramdisk_size = 0; // 0: no modules
    uint64_t rsdp_paddr = 0;   // 0: the guest finds the RSDP itself
};

struct PvhLayout {
    memory::Gpa start_info = 0;  // page aligned; the block starts here
    memory::Gpa memmap = 0;      // hvm_memmap_table_entry[memmap_entries]
    uint32_t memmap_entries = 0;
    memory::Gpa modlist = 0;     // hvm_modlist_entry[1] with a ramdisk, else 0
    memory::Gpa cmdline = 0;     // NUL-terminated; 0 when the command line is empty
    uint64_t block_size = 0;     // bytes from start_info covering all of the above
    memory::Gpa ramdisk = 0;     // page aligned; 0 without a ramdisk
    uint64_t ramdisk_size = 0;

    GpaRange block() const { return { start_info, block_size }; }
    GpaRange ramdisk_range() const { return { ramdisk, ramdisk_size }; }
};

// EINVAL when the command line is too long or holds a NUL byte.
Status check_cmdline(std::string_view cmdline);

// Place the boot data in RAM of `map`, clear of the `image` ranges. EINVAL for a bad command line,
// ENOSPC when it does not fit below kBootDataLimit.
Result<PvhLayout> plan_pvh_layout(const memory::MemoryMap& map, std::span<const GpaRange> image,
                                  const PvhBootData& data);

// The block_size bytes to write at layout.start_info. Memory map types carry over 1:1 (both are e820).
std::vector<uint8_t> build_pvh_block(const PvhLayout& layout, const memory::MemoryMap& map,
                                     const PvhBootData& data);

} // namespace xkvm::loader

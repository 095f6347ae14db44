// The guest loader: put an ELF kernel (PVH) or firmware (HVM) image into guest memory at its physical
// addresses, with the PVH boot data beside it, and say where the vCPU starts. The VMM then enters
// `entry` in 32-bit flat protected mode with paging off and ebx = `ebx`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "loader/elf_image.h"
#include "loader/pvh_start_info.h"
#include "memory/memory_map.h"
#include "memory/physmap.h"

namespace xkvm::loader {

enum class BootProtocol {
    Pvh,         // type="pvh", kernel=: XEN_ELFNOTE_PHYS32_ENTRY, ebx -> hvm_start_info
    HvmFirmware, // type="hvm", firmware_override=: ELF entry, no start info
};

std::string_view to_string(BootProtocol protocol);

struct LoadRequest {
    BootProtocol protocol = BootProtocol::Pvh;
    std::string kernel;      // kernel= (Pvh) or firmware_override= (HvmFirmware)
    std::string ramdisk;     // ramdisk=, empty for none; Pvh only
    std::string cmdline;     // cmdline=, Pvh only; shorter than kMaxCmdlineBytes, no NUL
    uint64_t rsdp_paddr = 0; // Pvh: the start info's rsdp_paddr (0: none)
};

struct BootInfo {
    BootProtocol protocol = BootProtocol::Pvh;
    uint32_t entry = 0;      // 32-bit physical entry, inside a loaded segment
    uint32_t ebx = 0;        // GPA of the hvm_start_info for Pvh; 0 for HvmFirmware
    uint64_t image_low = 0;  // loaded image [image_low, image_high), bss included
    uint64_t image_high = 0;
    ElfClass elf_class = ElfClass::Elf64;
    XenNotes notes;
    PvhLayout pvh; // where each piece of PVH boot data went; all zero for HvmFirmware
};

// Largest ramdisk accepted (it must fit in guest RAM below 4 GiB anyway).
inline constexpr uint64_t kMaxRamdiskBytes = 4 * memory::GiB;

// The entry the protocol starts at: PHYS32_ENTRY for Pvh (ENOEXEC "not a PVH kernel" without the
// note), e_entry for HvmFirmware. Either must be a 32-bit address inside a segment's file bytes.
Result<uint32_t> boot_entry(const ElfImage& image, BootProtocol protocol);

// Read and validate a kernel or firmware file without any guest memory, so the CLI can refuse a
// missing or malformed file before a domain exists.
Status check_kernel_file(const std::string& path, BootProtocol protocol);
// check_kernel_file, plus the ramdisk (a readable, non-empty regular file), the command line, and that
// ramdisk and command line are only given with Pvh.
Status check_load_request(const LoadRequest& request);

// Load the image and (Pvh) its boot data into `physmap`. Every loaded byte must lie in a RAM entry of
// `map`; everything is checked before the first byte is written. Errors name the file and the part of
// it at fault.
Result<BootInfo> load_kernel(memory::Physmap& physmap, const memory::MemoryMap& map, const LoadRequest& request);

} // namespace xkvm::loader

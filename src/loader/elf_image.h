// A kernel or firmware ELF file, parsed and validated without touching guest memory. The file is user
// input: everything the loader later relies on (segments inside the file, no wrap, no overlap) is
// checked here, so the loader only has to check the image against the guest's RAM.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "loader/xen_notes.h"

namespace xkvm::loader {

enum class ElfClass : uint8_t { Elf32 = 32, Elf64 = 64 };

// One PT_LOAD program header with a non-zero memory size, loaded at its physical address.
struct ElfSegment {
    unsigned index = 0;        // program header index, for messages
    uint64_t paddr = 0;        // where it is loaded in guest-physical memory
    uint64_t vaddr = 0;        // informational
    uint64_t file_offset = 0;  // [file_offset, file_offset + file_size) lies inside the file
    uint64_t file_size = 0;    // <= mem_size; the rest is zero-filled (bss)
    uint64_t mem_size = 0;     // > 0; paddr + mem_size does not wrap (nor pass 4 GiB for ELF32)
    uint32_t flags = 0;        // PF_R/PF_W/PF_X

    uint64_t end() const { return paddr + mem_size; }
};

struct ElfImage {
    ElfClass elf_class = ElfClass::Elf64;
    uint16_t machine = 0; // EM_386 or EM_X86_64, in either class (as Xen's builders take them)
    uint64_t entry = 0;   // e_entry as found; whether it is usable depends on the boot protocol
    std::vector<ElfSegment> segments; // in program header order; non-empty; pairwise disjoint
    XenNotes notes;       // from PT_NOTE segments, or SHT_NOTE sections when no segment has any
    std::vector<std::string> warnings; // oddities that did not stop parsing (for the log)

    uint64_t low() const;  // lowest loaded address
    uint64_t high() const; // one past the highest loaded byte (bss included)
    // The segment whose file-backed bytes contain `paddr`, or nullptr.
    const ElfSegment* segment_with_code_at(uint64_t paddr) const;
};

// Largest file parse_elf accepts (the file is held in memory while it is parsed and loaded).
inline constexpr uint64_t kMaxElfFileBytes = 1ull << 30;

// Parse and validate an x86 ELF executable. Errors (ENOEXEC) say what is wrong and where, without a
// file name; the caller prefixes one. What Xen's libelf and x86 domain builders accept: ELFCLASS32 or
// ELFCLASS64, with EM_386 or EM_X86_64 in either (an ELF32 EM_X86_64 firmware image is common);
// little-endian; PT_LOAD segments with at least one of R/W/X (others are skipped, as Xen skips them);
// notes laid out with 4-byte padding in every class. Stricter than Xen: ET_EXEC only (ET_DYN would
// need relocation, which no Xen boot protocol we implement does).
Result<ElfImage> parse_elf(std::span<const uint8_t> file);

// "EM_ARM, 32-bit Arm" for messages; "an unknown machine" for numbers without a name here.
std::string_view elf_machine_name(uint16_t machine);

} // namespace xkvm::loader

// Xen ELF notes (name "Xen") found in a kernel image. Only PHYS32_ENTRY drives loading; the rest is
// kept so the VMM can log what kind of guest it is booting.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/result.h"

namespace xkvm::loader {

struct XenNotes {
    std::optional<uint32_t> phys32_entry; // XEN_ELFNOTE_PHYS32_ENTRY: PVH 32-bit physical entry
    // Numeric notes a PV loader would use; recorded for logging only.
    std::optional<uint64_t> entry;          // XEN_ELFNOTE_ENTRY (virtual)
    std::optional<uint64_t> hypercall_page; // XEN_ELFNOTE_HYPERCALL_PAGE (virtual)
    std::optional<uint64_t> virt_base;      // XEN_ELFNOTE_VIRT_BASE
    std::optional<uint64_t> paddr_offset;   // XEN_ELFNOTE_PADDR_OFFSET
    std::optional<uint32_t> supported_features; // XEN_ELFNOTE_SUPPORTED_FEATURES bitmap
    // String notes, cut at the first NUL, bounded by kMaxNoteString, non-printable bytes as '?'.
    std::string guest_os;      // XEN_ELFNOTE_GUEST_OS, e.g. "linux"
    std::string guest_version; // XEN_ELFNOTE_GUEST_VERSION
    std::string xen_version;   // XEN_ELFNOTE_XEN_VERSION, e.g. "xen-3.0"
    std::string loader;        // XEN_ELFNOTE_LOADER, e.g. "generic"
    std::string features;      // XEN_ELFNOTE_FEATURES, '|'-separated
    unsigned count = 0;        // Xen notes seen, including types not recorded here

    // One line for the log: "guest_os=linux xen_version=xen-3.0 phys32_entry=0x1000000 ...".
    std::string summary() const;
};

inline constexpr size_t kMaxNoteString = 256;

// Record one note of name "Xen" with type `type` and descriptor `desc`. A malformed PHYS32_ENTRY (a
// descriptor that is not 4 or 8 bytes, a value above 4 GiB, or a second note that disagrees) is an
// error; other notes with unexpected sizes are ignored, as they do not affect loading.
Status record_xen_note(XenNotes& notes, uint32_t type, std::span<const uint8_t> desc);

} // namespace xkvm::loader

// The vocabulary of a domain's DMA address space: frame numbers, permissions, flush kinds, DMA faults.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

namespace xkvm::iommu {

using Dfn = uint64_t; // device frame number: a 4 KiB page of the DMA (I/O virtual) address space
using Mfn = uint64_t; // machine frame number: a 4 KiB page of the domain's backing memory

inline constexpr unsigned kPageShift = 12;
inline constexpr uint64_t kPageSize = 1ull << kPageShift;
inline constexpr unsigned kLevelBits = 9;          // 512 entries per table
inline constexpr unsigned kLevels = 4;             // 48-bit DMA addresses
inline constexpr unsigned kDfnBits = kLevels * kLevelBits; // 36
inline constexpr unsigned kMfnBits = 40;           // 52-bit machine addresses
inline constexpr unsigned kMaxOrder = 27;          // one top-level entry's span (512 GiB)
inline constexpr unsigned kSuperpageOrders[] = { 18, 9 }; // 1 GiB, 2 MiB leaves, largest first

// Permissions of a mapping (as Xen's IOMMUF_readable / IOMMUF_writable).
enum Perm : unsigned {
    kRead = 1u << 0,
    kWrite = 1u << 1,
    kReadWrite = kRead | kWrite,
};

// What an entry change needs from the IOTLB, ordered so that the strongest of several is the max.
enum class FlushKind : uint8_t {
    None = 0,     // nothing a translation cache could hold changed
    Added = 1,    // a non-present entry became present: only units caching non-present entries care
    Modified = 2, // a present entry changed or went away (also a superpage split or merge)
};

constexpr FlushKind combine(FlushKind a, FlushKind b) { return std::max(a, b); }
const char* flush_kind_name(FlushKind k);

// One translation: the leaf that covers a DFN, and where that DFN lands.
struct Translation {
    Dfn base_dfn = 0; // first DFN of the leaf
    Mfn base_mfn = 0;
    unsigned order = 0; // 0, 9 or 18
    unsigned perms = 0;

    Mfn mfn_of(Dfn dfn) const { return base_mfn + (dfn - base_dfn); }
    bool operator==(const Translation&) const = default;
};

// A DMA that could not complete: reported to the device model as a value, never a host fault.
enum class DmaFault : uint8_t {
    None = 0,
    NotPresent,  // no translation for the address
    NotReadable, // a read from a write-only page
    NotWritable, // a write to a read-only page
    OutOfRange,  // beyond the DMA address width, or wrapping
    BadFrame,    // the translation points outside the domain's backing memory
};
const char* dma_fault_name(DmaFault f);

struct [[nodiscard]] DmaStatus {
    DmaFault fault = DmaFault::None;
    uint64_t address = 0; // the first faulting byte's DMA address (when fault != None)

    bool ok() const { return fault == DmaFault::None; }
};

} // namespace xkvm::iommu

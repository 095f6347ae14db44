// The Xen version xkvm presents to guests and toolstack users.
#pragma once

#include <cstdint>

#include "xen/guest_type.h"

namespace xkvm::xen {

inline constexpr uint32_t kXenMajor = 4;
inline constexpr uint32_t kXenMinor = 19;
inline constexpr const char* kXenExtraversion = ".0-xkvm";
inline constexpr const char* kXenChangeset = "xkvm";
inline constexpr const char* kXenCapabilities = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64";
inline constexpr const char* kCompiler = "gcc";

// XENVER_get_features submap 0 for a PVH or HVM guest.
uint32_t feature_submap0();

} // namespace xkvm::xen

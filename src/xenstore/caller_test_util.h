// Callers for the store-level tests: the toolstack domain and an unprivileged guest.
#pragma once

#include <optional>

#include "xenstore/permissions.h"

namespace xkvm::xenstore::testing {

inline const Caller kDom0Caller { 0, true, std::nullopt };
inline const Caller kDom1Caller { 1, false, std::nullopt };

} // namespace xkvm::xenstore::testing

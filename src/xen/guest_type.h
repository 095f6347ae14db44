// Which kind of translated guest a domain is: PVH and HVM differ in a few ABI answers.
#pragma once

#include <cstdint>

namespace xkvm::xen {

enum class GuestType : uint8_t { Pvh, Hvm };

} // namespace xkvm::xen

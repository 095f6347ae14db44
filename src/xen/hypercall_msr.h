// The hypercall MSR: the guest names a page, the VMM fills it with hypercall stubs.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "memory/physmap.h"
#include "xen/hypercall_page.h"

namespace xkvm::xen {

// EINVAL for a page index other than 0, EFAULT for a page that is not writable guest memory:
// both become #GP for the guest, as on Xen.
Status write_hypercall_msr(memory::Physmap& mem, uint64_t value, HypercallTrap trap);

} // namespace xkvm::xen

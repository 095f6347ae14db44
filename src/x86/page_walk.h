// Guest linear -> guest physical translation by walking the guest's own page tables, for every x86
// paging mode (none, 32-bit, PAE, 4-level, 5-level). Hypercall arguments are guest-virtual
// addresses; this is how the VMM finds the bytes, with the same checks the CPU would make.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "memory/physmap.h"
#include "x86/cpu_state.h"

namespace xkvm::x86 {

struct Access {
    bool write = false;
    bool user = false; // the access is made on behalf of CPL3
};

// EFAULT when not present, not permitted, or the tables are unreadable.
Result<memory::Gpa> translate(const memory::Physmap& mem, const PagingMode& mode, uint64_t linear, Access access);

} // namespace xkvm::x86

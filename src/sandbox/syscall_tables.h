// What each kind of VMM thread may ask of the kernel once the domain is built: one list per thread
// role (base/thread_role.h) plus a list every thread shares. The lists are data, reviewed as data:
// a name, and where cheap an argument check, for each system call allowed.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/thread_role.h"

namespace xkvm::sandbox {

// Allows the call only if (argument `index` & mask) == value. With kOwnPid the value is the
// process's pid, filled in when the filter is built.
struct ArgCheck {
    static constexpr uint64_t kOwnPid = ~0ull;
    uint8_t index = 0;
    uint64_t mask = 0;
    uint64_t value = 0;
};

struct AllowedCall {
    std::string_view name;
    bool checked = false; // whether `check` applies
    ArgCheck check {};
};

// Allowed to every thread of a running VMM.
std::span<const AllowedCall> common_calls();
// Allowed to threads of `role` on top of common_calls(). A name may appear more than once with
// different argument checks: any one of them allows the call.
std::span<const AllowedCall> role_calls(ThreadRole role);
// Answered with ENOSYS instead of killing the process: glibc then falls back to a call we can check.
std::span<const std::string_view> answered_enosys();

} // namespace xkvm::sandbox

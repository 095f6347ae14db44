// A thread role's lists (syscall_tables.h) as a libseccomp filter, and loading it on the calling
// thread. Filters are per thread: each thread loads its own; threads it starts inherit it.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/thread_role.h"

namespace xkvm::sandbox {

enum class Enforcement {
    Kill,   // a call off the lists kills the whole process (SECCOMP_RET_KILL_PROCESS)
    Report, // SIGSYS: report_forbidden_calls() prints the call and the role, then the process dies
};

struct FilterDeleter {
    void operator()(void* ctx) const;
};
using Filter = std::unique_ptr<void, FilterDeleter>; // a scmp_filter_ctx

// The filter for `role` (the common list and the role's), built but not loaded.
Result<Filter> build_filter(ThreadRole role, Enforcement enforcement);
// Builds and loads it on the calling thread.
Status load_filter(ThreadRole role, Enforcement enforcement);

// Names in any list that libseccomp cannot resolve on this architecture (none, when all is well).
std::vector<std::string_view> unresolved_names();

// For Enforcement::Report: a SIGSYS handler that writes "sandbox: <role> thread <tid> made forbidden
// system call <nr>" to stderr, then lets SIGSYS kill the process.
void report_forbidden_calls();

} // namespace xkvm::sandbox

// The VMM's sandbox, start to finish (README.md): xkvm-vmm picks the mode at start, every VMM thread
// loads its role's seccomp filter as it starts, and once the domain is built the VMM leaves root
// and confines its control thread.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/thread_role.h"

namespace xkvm::sandbox {

enum class Mode {
    Off,     // xkvm-vmm --no-sandbox or XKVM_SANDBOX=0: for debugging and sanitizer builds
    Enforce, // the default: a forbidden system call kills the process
    Report,  // XKVM_SANDBOX=report: as Enforce, but the process first says which call killed it
};

// `--no-sandbox` wins; else XKVM_SANDBOX (`env`, may be null): "1" or "on" enforce, "0" or "off"
// turn it off, "report" reports, anything else is an error. Unset: on (off in ASan builds).
Result<Mode> mode_from(bool no_sandbox_flag, const char* env);
std::string_view mode_name(Mode mode);

// Chooses the mode for this process. With the sandbox on, every thread that enters a role from now
// on loads that role's filter first (a thread that cannot dies, taking the process with it).
void activate(Mode mode);
Mode active_mode();

struct LockDown {
    uint32_t domid = 0;
    std::string domain_dir; // <rundir>/<domid>, handed to the domain's uid; empty for none
};

// The end of the build: as root, drops to the domain's uid (domain_identity) after handing it its
// directory, makes the process undumpable, and confines the calling thread as the control thread.
// Does nothing with the sandbox off.
Status lock_down(const LockDown& what);

} // namespace xkvm::sandbox

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
// `private_root`: xkvmd started us in PID and mount namespaces of our own (`--private-root`), and
// lock_down() then leaves us an empty read-only root (private_root.h).
void activate(Mode mode, bool private_root = false);
Mode active_mode();

struct LockDown {
    uint32_t domid = 0;
    std::string domain_dir; // <rundir>/<domid>, handed to the domain's uid; empty for none
};

// The end of the build: as root, hands the domain's uid (domain_identity) its directory, switches
// to the private root if asked to (on the domain directory), drops to that uid, makes the process
// undumpable, and confines the calling thread as the control thread.
// Does nothing with the sandbox off.
Status lock_down(const LockDown& what);

} // namespace xkvm::sandbox

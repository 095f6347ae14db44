// The identity a VMM runs as once its domain is built, and the descriptors it keeps.
#pragma once

#include <sys/types.h>

#include <optional>
#include <span>
#include <string>

#include "base/result.h"

namespace xkvm::sandbox {

struct Identity {
    uid_t uid;
    gid_t gid;
};

// Domain ids stay below 0x7ff0, so base + domid stays below 2^31 (ids above it trip up tools).
inline constexpr uid_t kDefaultUidBase = 0x70100000;

// Who the VMM of `domid` becomes: uid = gid = base + domid, base from XKVM_VMM_UID_BASE or
// kDefaultUidBase. One uid per domain: VMMs of different domains cannot signal or trace each other.
// nullopt when we are not root: then the VMM keeps the uid it was started with.
Result<std::optional<Identity>> domain_identity(uint32_t domid);

// Gives `dir` and the entries directly in it to `who`, so that the VMM can still rotate its console
// log there after the drop. Never follows a symlink.
Status hand_over_dir(const std::string& dir, const Identity& who);

// Leaves root for good: no supplementary groups, then gid, then uid (real, effective, saved); fails
// if root can be regained afterwards.
Status drop_privileges(const Identity& who);

// Not dumpable: no other process of our uid may ptrace us or read our memory, and no core dump.
Status make_undumpable();

// Closes every descriptor but stdin, stdout, stderr and `keep` (what a VMM inherited by accident).
Status close_descriptors_except(std::span<const int> keep);

} // namespace xkvm::sandbox

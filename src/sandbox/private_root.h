// A VMM's own view of the filesystem (issue 11): xkvmd starts each VMM in a PID and a mount
// namespace of its own (`xkvm-vmm --private-root`); once the domain is built, the VMM's root becomes
// an empty read-only tmpfs holding only a procfs of its own PID namespace. What it needs of the host
// (guest memory, /dev/kvm, the console log, its sockets) it already holds as descriptors.
#pragma once

#include <string>

#include "base/result.h"

namespace xkvm::sandbox {

// In the mount namespace the VMM was started in, as root and before any filter confines the
// calling thread: makes every mount private, mounts the new root on `anchor` (an existing directory,
// hidden from then on in this namespace only), pivots into it, detaches the old root and makes the
// new one read-only. Only the calling thread's system calls are made: the other threads' filters
// need nothing new.
Status enter_private_root(const std::string& anchor);

} // namespace xkvm::sandbox

// One direction of an interdomain event channel between two VMM processes: a connected pair of
// AF_UNIX datagram sockets. The receiving VMM makes the pair, keeps one end and hands the other to
// the sender (through xkvmd). The two ends are separate open files, unlike a passed eventfd (one
// file shared by both, whose O_NONBLOCK flag and counter the far side could change): nothing the
// far VMM does to its end (clearing O_NONBLOCK, never reading, saturating the queue) can make ours
// block, and every send and receive here is MSG_DONTWAIT besides. The kernel bounds the queue
// (net.unix.max_dgram_qlen); a full queue means notifications are waiting already, which is all
// a notification has to say.
#pragma once

#include <cstddef>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm::vmm {

struct NotifyPair {
    UniqueFd receive_end; // kept by the VMM whose port is raised
    UniqueFd send_end;    // handed to the far VMM
};

Result<NotifyPair> make_notify_pair();
// A descriptor from another VMM must be this kind of socket (an AF_UNIX datagram socket).
bool is_notify_socket(int fd);
// Never blocks. false when the far side's queue is full or its end is gone.
bool send_notify(int fd);
// Reads every notification queued now, never blocking; how many there were.
size_t drain_notify(int fd);

} // namespace xkvm::vmm

// Notifications between processes (an interdomain event channel between two VMMs; a vm_event
// monitor and its VMM): a connected pair of AF_UNIX datagram sockets. For an interdomain channel
// the receiving VMM makes the pair, keeps one end and hands the other to the sender (via xkvmd). The two ends are separate open files, unlike a passed eventfd (one
// file shared by both, whose O_NONBLOCK flag and counter the far side could change): nothing the
// far VMM does to its end (clearing O_NONBLOCK, never reading, saturating the queue) can make ours
// block, and every send and receive here is MSG_DONTWAIT besides. The kernel bounds the queue
// (net.unix.max_dgram_qlen); a full queue means notifications are waiting already, which is all
// a notification has to say.
#pragma once

#include <cstddef>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm::ipc {

struct NotifyPair {
    UniqueFd receive_end; // kept by the VMM whose port is raised
    UniqueFd send_end;    // handed to the far VMM
};

Result<NotifyPair> make_notify_pair();
// Both ends send and receive (a vm_event channel: requests one way, responses the other). Still two
// open files, so the far end's flags cannot change ours.
Result<std::pair<UniqueFd, UniqueFd>> make_duplex_notify_pair();
// A descriptor from another VMM must be this kind of socket (an AF_UNIX datagram socket).
bool is_notify_socket(int fd);
// Never blocks. false when the far side's queue is full or its end is gone.
bool send_notify(int fd);
// Reads every notification queued now, never blocking; how many there were.
size_t drain_notify(int fd);

} // namespace xkvm::ipc

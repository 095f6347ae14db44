// What daemon_msg_fuzz's hostile peers write: a subverted VMM's replies, requests, events and
// xenstore frames, and a client's requests, each built from the fuzzer's bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "ipc/frame.h"
#include "ipc/json_message.h"

namespace xkvm::fuzz::daemon_msg {

// The domains the daemon has now, for arguments that name one (a hostile peer names real ones too).
struct Domain {
    uint32_t domid;
    std::string name;
};
using Domains = std::vector<Domain>;

// A reply to request `id` (an `op` the daemon sent) from the VMM of domain `self`: what a VMM
// would answer, or one of the ReplyForms' ways to break it. The frame carries descriptors when the
// form says so.
ipc::Frame vmm_reply(Input& in, uint64_t id, std::string_view op, uint32_t self);
// One of the VMM's own requests (evtchn-bind, domain-exists, unknown ones), hostile arguments.
ipc::Frame vmm_request(Input& in, const Domains& doms, uint32_t self, uint64_t& next_id);
// An event: shutdown, xs-reset, evtchn-closed, unknown or malformed.
ipc::Frame vmm_event(Input& in, const Domains& doms);
// A xenstore request of the guest behind this VMM (any type, in or out of a transaction).
ipc::Frame vmm_xenstore(Input& in, const Domains& doms, uint32_t& type);

// A client request for kClientOps[op], its id `id` (or, with `odd_id`, an id that is not a
// number: the daemon answers those with id 0).
ipc::Json client_request(Input& in, uint8_t op, uint64_t id, bool odd_id, const Domains& doms);

// A descriptor to attach (/dev/null, duplicated).
UniqueFd any_fd();

} // namespace xkvm::fuzz::daemon_msg

// The monitor socket: JSON requests and replies (src/ipc/json_message.h; the names in ipc/ops.h,
// kMonitor*) between a monitor and the
// VMM of the domain it watches, at <rundir>/<domid>/monitor.sock (ipc::monitor_socket_path) or
// where `xkvm-vmm --monitor-socket` puts it. One monitor at a time; the socket closing ends
// monitoring (everything it set is undone, the guest runs on).
//
//   open         {ring_pages, slots}       -> {vcpus, ring_pages, ring_entries, slots, version}
//                                             fds: ring memfd, ring notification[, slot memfd]
//   slot-notify  {first, count <= 8}       -> fds: the notification of each of those vCPUs' slots
//   caps         {}                        -> {page_access, breakpoints, cr_writes, descriptor, msr_writes, single_step}
//   events       EventConfig's fields      -> {}     (EOPNOTSUPP for what the backend cannot report)
//   set-access   {gfn, nr, access}         -> {}     (access: xenmem_access_t)
//   get-access   {gfn}                     -> {access}
//
// "slots": false in the reply to an open that asked for them means the domain cannot offer them;
// the monitor then works on the ring alone, as seed 004's tool does.
#pragma once

#include <cstdint>
#include <vector>

namespace xkvm::vmevent {

inline constexpr uint32_t kMaxRingPages = 64;
inline constexpr uint32_t kMaxFdsPerReply = 8; // ipc's per-frame descriptor limit

// Which events a monitor wants. Guest requests may be asynchronous (the vCPU goes on at once);
// everything else is synchronous, as on Xen.
struct EventConfig {
    bool guest_request = false;
    bool guest_request_sync = true;
    bool breakpoint = false;
    bool singlestep = false;
    uint8_t cr_writes = 0; // bit n: MOV to CRn (n in 0, 3, 4)
    bool descriptor = false;
    std::vector<uint32_t> msrs {};

    bool operator==(const EventConfig&) const = default;
};

} // namespace xkvm::vmevent

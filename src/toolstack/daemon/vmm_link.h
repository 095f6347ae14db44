// One VMM process as xkvmd sees it: spawning `xkvm-vmm --control-fd N`, its control channel, and the
// requests in flight to it (each with a callback and a deadline, so a hung VMM cannot hang the
// daemon).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>

#include "base/result.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"

namespace xkvm::toolstack {

class VmmLink {
public:
    using Callback = std::function<void(Result<ipc::Json>)>;
    // For requests whose reply carries descriptors (interdomain event channels).
    using FdCallback = std::function<void(Result<ipc::Json>, std::vector<UniqueFd>)>;
    using Clock = std::chrono::steady_clock;

    // Requests in flight to one VMM; past it, a request fails at once (EBUSY).
    static constexpr size_t kMaxPending = 256;
    // Requests one VMM may have caused to other VMMs (interdomain binds and closes) at a time.
    static constexpr unsigned kMaxForwarded = 32;
    // Bytes queued for a VMM that does not read.
    static constexpr size_t kMaxQueuedBytes = 16u << 20;
    // One JSON message from a VMM: real ones are small (a status names each vCPU in a few dozen
    // bytes). The daemon's single thread parses it while every other domain's requests wait, so a
    // larger one breaks the protocol (the VMM is killed) instead of costing them milliseconds.
    static constexpr ipc::JsonLimits kJsonLimits { 64u << 10, 32 };

    // Forks and execs `vmm_path --control-fd N`. The child outlives the daemon: a daemon that dies
    // leaves its domains running (daemon_adopt.cpp takes them back). With `namespaces`, the child
    // starts in PID and mount namespaces of its own (it is pid 1 there) and gets `--private-root`;
    // if the kernel refuses them, `namespaces` is cleared and the child is forked plainly.
    static Result<std::unique_ptr<VmmLink>> spawn(const std::string& vmm_path, uint32_t domid, bool& namespaces);
    // A VMM whose control socket we already hold (tests; a daemon that re-adopts its VMMs).
    static Result<std::unique_ptr<VmmLink>> adopt(pid_t pid, uint32_t domid, UniqueFd control);
    // A VMM that is not our child (a previous daemon's): we learn of its end through a pidfd, which
    // the poll loop watches, and signal it through the pidfd (no pid reuse race).
    void set_pidfd(UniqueFd pidfd) { m_pidfd = std::move(pidfd); }
    int pidfd() const { return m_pidfd.get(); }
    bool our_child() const { return !m_pidfd; }
    void kill();
    size_t pending() const { return m_pending.size(); }

    pid_t pid() const { return m_pid; }
    uint32_t domid() const { return m_domid; }
    ipc::Channel& channel() { return *m_chan; }

    // Sends {"op": op, "id": N, ...args}; `done` gets the reply's fields or its error exactly once
    // (EBUSY at once when kMaxPending are in flight already).
    void request(std::string_view op, ipc::Json args, Callback done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
    void request(std::string_view op, ipc::Json args, std::vector<UniqueFd> fds, FdCallback done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Sends a reply to one of the VMM's own requests.
    void reply(uint64_t id, Result<ipc::Json> r, std::vector<UniqueFd> fds = {});
    // If `msg` answers a request in flight, completes it (with the frame's descriptors; `msg` is
    // taken) and returns true. Requests from the VMM ("op") and events are not replies.
    bool complete(ipc::Json& msg, std::vector<UniqueFd>& fds);
    // Fails everything in flight (the VMM went away).
    void fail_all(const Error& e);
    // Fails requests past their deadline; returns the earliest deadline left.
    std::optional<Clock::time_point> expire(Clock::time_point now);

    // Set once the channel is closed or broken: no more requests can be sent.
    bool channel_open() const { return m_open; }
    void close_channel();

    std::string name; // of its domain, for waiters by name
    unsigned forwarded = 0; // requests in flight to other VMMs on this one's behalf
    // SIGKILL if it is still around at this time (destroy gives it a moment to exit cleanly).
    std::optional<Clock::time_point> kill_deadline;
    bool exited = false;
    int wait_status = 0;

private:
    struct Pending {
        FdCallback done;
        Clock::time_point deadline;
    };
    VmmLink(pid_t pid, uint32_t domid, std::unique_ptr<ipc::Channel> chan)
        : m_pid(pid), m_domid(domid), m_chan(std::move(chan)) { }

    pid_t m_pid;
    uint32_t m_domid;
    std::unique_ptr<ipc::Channel> m_chan;
    UniqueFd m_pidfd;
    bool m_open = true;
    uint64_t m_next_id = 1;
    std::map<uint64_t, Pending> m_pending;
};

// Where xkvm-vmm is: $XKVM_VMM, else next to this executable, else the build tree's src/vmm.
std::string find_vmm_binary();

} // namespace xkvm::toolstack

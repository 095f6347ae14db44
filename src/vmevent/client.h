// The monitor side of a domain's vm_event channel, for tools (`xkvm access`, tests, benchmarks):
// connect to the VMM's monitor socket, choose events, restrict page access, wait for requests on
// every descriptor at once (one epoll set), answer them. Falls back to the ring alone when the domain has no slots.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "vmevent/abi.h"
#include "vmevent/protocol.h"
#include "vmevent/ring.h"
#include "vmevent/shared_area.h"
#include "vmevent/slots.h"

namespace xkvm::vmevent {

struct OpenOptions {
    uint32_t ring_pages = 1;
    bool slots = true; // ask for one slot per vCPU
};

// A request taken from the ring or from a vCPU's slot; the response goes back the same way.
struct Pending {
    Event request {};
    int slot = -1; // the vCPU whose slot it came from; -1: the ring
};

class Client {
public:
    static Result<std::unique_ptr<Client>> connect(const std::string& socket_path, OpenOptions options = {});
    ~Client();

    uint32_t vcpus() const { return m_vcpus; }
    bool has_slots() const { return m_slots.has_value(); }
    uint32_t ring_entries() const { return m_ring->size(); }

    Result<ipc::Json> caps();
    Status set_events(const EventConfig& config);
    Status set_access(uint64_t gfn, uint64_t nr, XenmemAccess access);
    Result<XenmemAccess> get_access(uint64_t gfn);

    // Waits up to `timeout` for requests on the ring and every slot, and appends each one taken.
    // ECONNRESET once the VMM has gone (the domain ended).
    Status wait(std::vector<Pending>& out, std::chrono::milliseconds timeout);
    // Answers a request taken by wait().
    Status respond(const Pending& pending, const Event& response);

    // The response that lets the vCPU go on: same vCPU and reason, VCPU_PAUSED kept.
    static Event resume(const Event& request);

private:
    Client() = default;
    Result<ipc::Json> call(std::string_view op, ipc::Json args, std::vector<UniqueFd>* fds = nullptr);
    Status open(OpenOptions options);
    Status take_ring(std::vector<Pending>& out);
    Status watch_descriptors();
    // One epoll_wait; drains the notifications that fired. False once the VMM hung up.
    Result<bool> wait_ready(int timeout_ms);

    std::unique_ptr<ipc::Channel> m_chan;
    uint64_t m_next_id = 1;
    uint32_t m_vcpus = 0;
    std::optional<SharedArea> m_ring_area;
    std::optional<RingBack> m_ring;
    UniqueFd m_ring_notify;
    std::optional<SharedArea> m_slot_area;
    std::optional<SlotsBack> m_slots;
    std::vector<UniqueFd> m_slot_notify;
    std::vector<bool> m_slot_taken; // handed out by wait(), not answered yet
    UniqueFd m_epoll; // the channel, the ring's and every slot's notification
};

} // namespace xkvm::vmevent

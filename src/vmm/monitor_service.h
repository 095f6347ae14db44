// A domain's vm_event monitor endpoint (issue 10): a unix socket for one monitor at a time (a
// second gets EBUSY; peers checked with SO_PEERCRED as xkvmd's socket is), the ring and slots it
// is handed (monitor_channel.h), and what the vCPUs do about events.
//
// A synchronous event parks its vCPU with hv::kPauseMonitor until the response; the response is
// carried out on the vCPU's own thread (VcpuRunner::post) before it re-enters the guest. A vCPU
// whose event finds the ring full waits, parked, until a response frees an entry: nothing is
// dropped. Xen's pause-the-producer rule (ring_blocking.h) holds on the ring as well: a vCPU that
// leaves fewer free entries than there are vCPUs after an asynchronous event is parked until
// responses free some (those waiting to place an event go first, as on Xen). When the monitor
// goes (closes, crashes, breaks the ring's rules), pending events are cancelled, parked vCPUs
// resume, page limits, intercepts and single-stepping are lifted, and the guest runs on.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "hv/exit.h"
#include "hv/vcpu_runner.h"
#include "hv/vm.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "memory/physmap.h"
#include "vmevent/protocol.h"
#include "vmm/monitor_channel.h"
#include "vmm/ring_blocking.h"

namespace xkvm::vmm {

struct MonitorOptions {
    bool slots = true; // offer one slot per vCPU (off: the "not supported" answer, for tests)
};

class MonitorService {
public:
    // Page limits apply to the RAM `physmap` maps (holes in a range are skipped, as Xen skips them).
    MonitorService(hv::Vm& vm, memory::Physmap& physmap, std::vector<hv::VcpuRunner*> runners);
    ~MonitorService();
    MonitorService(const MonitorService&) = delete;
    MonitorService& operator=(const MonitorService&) = delete;

    // Serves monitors at `path` (replacing a stale socket) on a thread of its own.
    Status listen(const std::string& path, MonitorOptions options = {});
    // Ends monitoring (as a monitor's close does) and the thread; the socket is removed.
    void stop();
    // True once a monitor has opened its channel and chosen its events (xkvm-vmm --monitor-wait:
    // the guest starts only then, so no event is missed), false at the timeout.
    bool wait_for_monitor(std::chrono::milliseconds timeout);

    // From a vCPU's own thread: the exits that may become events.
    // `call_rax`: RAX as the guest made the hypercall (the hypercall number).
    hv::ExitOutcome on_guest_request(uint32_t vcpu, hv::Vcpu& v, uint64_t call_rax);
    hv::ExitOutcome on_introspect(uint32_t vcpu, hv::Vcpu& v, const hv::IntrospectExit& exit);
    hv::ExitOutcome on_debug(uint32_t vcpu, hv::Vcpu& v);

private:
    struct VcpuState {
        bool awaiting = false;   // a synchronous event waits for its response
        bool queued = false;     // an event waits for room in the ring
        std::optional<hv::IntrospectExit::What> intercept; // the event's intercepted instruction, if any
        bool singlestep = false; // single-stepping for the monitor
    };
    struct Queued {
        uint32_t vcpu;
        vmevent::Event event;
        bool sync;
    };
    struct Op {
        std::string_view name;
        Result<ipc::Json> (MonitorService::*handler)(const ipc::Json& args, std::vector<UniqueFd>& fds);
    };
    static const Op kOps[];

    // Service thread.
    void run();
    void accept_peer();
    void serve_frames();
    void refuse_busy();
    Result<ipc::Json> dispatch(const ipc::Json& request, std::vector<UniqueFd>& fds);
    Result<ipc::Json> op_open(const ipc::Json& args, std::vector<UniqueFd>& fds);
    Result<ipc::Json> op_slot_notify(const ipc::Json& args, std::vector<UniqueFd>& fds);
    Result<ipc::Json> op_caps(const ipc::Json& args, std::vector<UniqueFd>& fds);
    Result<ipc::Json> op_events(const ipc::Json& args, std::vector<UniqueFd>& fds);
    Result<ipc::Json> op_set_access(const ipc::Json& args, std::vector<UniqueFd>& fds);
    Result<ipc::Json> op_get_access(const ipc::Json& args, std::vector<UniqueFd>& fds);
    void drop_monitor(const std::string& why);

    // Events (monitor_service_events.cpp); m_lock held.
    hv::ExitOutcome post_locked(uint32_t vcpu, const vmevent::Event& event, bool sync,
                                std::optional<hv::IntrospectExit::What> intercept = std::nullopt);
    // Takes every response in shared memory (the notifications were drained by the caller).
    Status collect_responses_locked();
    void apply_response_locked(const vmevent::Event& response, std::optional<uint32_t> slot);
    // Places waiting events while the ring has room, then lets blocked vCPUs go (ring_blocking.h).
    void flush_queue_locked();
    void release_all_locked();
    void apply_intercepts_locked();
    // Sets the limits of the RAM in [gfn, gfn + nr); EINVAL when none of it is RAM.
    Status limit_ram(uint64_t gfn, uint64_t nr, uint8_t bits);

    hv::Vm& m_vm;
    memory::Physmap& m_physmap;
    std::vector<hv::VcpuRunner*> m_runners;
    MonitorOptions m_options;

    std::string m_path;
    UniqueFd m_listener, m_wake;
    std::thread m_thread;
    std::unique_ptr<ipc::Channel> m_peer;             // the monitor's socket (service thread only)
    std::vector<std::unique_ptr<ipc::Channel>> m_busy; // later peers, told EBUSY and closed

    mutable std::mutex m_lock;
    std::condition_variable m_ready_cv;
    bool m_ready = false; // a monitor chose its events
    std::unique_ptr<MonitorChannel> m_channel; // present while a monitor is open
    vmevent::EventConfig m_config;
    std::vector<VcpuState> m_vcpus;
    std::deque<Queued> m_queue;
    RingBlocking m_blocking { 0 };
    std::map<uint64_t, uint8_t> m_limited; // gfn -> hv::kAccess* bits, pages not unrestricted
};

} // namespace xkvm::vmm

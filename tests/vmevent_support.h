// A guest booted under xkvm-vmm with its vm_event monitor endpoint, and a monitor attached to it:
// the VMM keeps the guest paused (--monitor-wait) until the monitor has chosen its events, so no
// event is missed. Shared by tests/vmevent_test.cpp.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "guest_runner.h"
#include "vmevent/client.h"

namespace xkvm::test {

class MonitoredGuest {
public:
    MonitoredGuest(GuestOptions opts, std::vector<std::string> vmm_flags = {});
    ~MonitoredGuest();

    // Connects (retrying until the socket exists, at most `timeout`). Empty with the reason on failure.
    Result<std::unique_ptr<vmevent::Client>> attach(vmevent::OpenOptions open,
                                                    std::chrono::milliseconds timeout = std::chrono::seconds(30));
    const std::string& socket() const { return m_socket; }
    // Waits for the VMM to end.
    GuestRun finish();

private:
    std::string m_socket;
    std::future<GuestRun> m_run;
};

// Answers every request with `answer(pending)` (default: resume) until the VMM goes away or
// `deadline` passes; returns what was seen. `stop_after` > 0: returns once that many were seen,
// without answering the last batch beyond it.
struct Served {
    std::vector<vmevent::Pending> events;
    bool vmm_gone = false;
    std::string error;
};
using Answer = std::function<vmevent::Event(const vmevent::Pending&)>;
Served serve(vmevent::Client& client, std::chrono::milliseconds deadline, Answer answer = {}, size_t stop_after = 0);

} // namespace xkvm::test

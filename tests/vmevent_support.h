// A guest booted under xkvm-vmm with its vm_event monitor endpoint, and a monitor attached to it:
// the VMM keeps the guest paused (--monitor-wait) until the monitor has chosen its events, so no
// event is missed. Shared by tests/vmevent_test.cpp.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "guest_runner.h"
#include "vmevent/client.h"

namespace xkvm::test {

// What the vmevent64 guest puts in its registers (guests/vmevent/vmevent.c): guest-request payloads
// rdx = kRequestMagic | cpu << 32 | n, and marks rdx = kMarkMagic | mark telling where it is.
inline constexpr uint64_t kRequestMagic = 0x5e00000000000000ull;
inline constexpr uint64_t kMarkMagic = 0x5f00000000000000ull;
enum Mark : unsigned {
    kMarkWatch = 1,       // r10: the page to watch for writes
    kMarkDeny = 2,        // deny the next write
    kMarkLift = 3,        // let the next write through by lifting the limit
    kMarkSetRegs = 4,     // answer with rax = kSetRegsRax
    kMarkStepStart = 5,   // r10, r8: the stepped block; turn single-step on
    kMarkStepStop = 6,    // turn it off
    kMarkBreakpoints = 7, // r10, r8: the two INT3s
    kMarkCr3 = 8,         // r10: the CR3 write
    kMarkDesc = 9,        // SIDT then SGDT follow
    kMarkBreakpointAlias = 10, // r10: an INT3 through an alias mapping, r8: the same through the identity
};
inline constexpr uint64_t kSetRegsRax = 0x600d;

// The vmevent64 guest in `mode` on `vcpus` vCPUs, `count` events each.
GuestOptions vmevent_guest(const std::string& mode, const std::string& name, unsigned vcpus, unsigned count);
std::optional<Mark> mark_of(const vmevent::Event& e);
// A response that loads the request's registers with `rip` and `rax` changed (SET_REGISTERS).
vmevent::Event with_registers(const vmevent::Event& request, uint64_t rip, uint64_t rax);
// The guest said RESULT: PASS and powered off.
void expect_clean_end(const GuestRun& run);
// On kvm: the run ended because this host's KVM could not run the guest's INT3 at `rip` (nested KVM
// emulates CPL0 code and fails on INT3: KVM internal error 1; ../shared/kvm-here.md). A test then
// skips saying so: what it checks is not reachable on this host's KVM, and runs on emu.
bool host_kvm_failed_int3(const GuestRun& run, uint64_t rip);

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

// The thread that runs one vCPU: enters the guest, hands each exit to the handler, and parks while
// any pause reason is set. Other threads pause, resume, kick it, or post work to run on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <sys/types.h>
#include <thread>

#include "hv/exit.h"
#include "hv/vcpu.h"

namespace xkvm::hv {

// Why a vCPU is kept out of the guest. It runs only when no reason is set.
enum PauseReason : uint32_t {
    kPauseController = 1u << 0, // paused by the toolstack (xl pause, create -p)
    kPauseDown = 1u << 1,       // offline: not brought up yet, or taken down
    kPauseBlocked = 1u << 2,    // the guest blocked waiting for an event
    kPauseShutdown = 1u << 3,   // the domain has shut down
    kPauseSync = 1u << 4,       // held out of the guest while its state is inspected or changed
    kPauseMonitor = 1u << 5,    // waiting for an introspection agent's reply
};

class VcpuRunner {
public:
    using Work = std::function<void(Vcpu&)>;

    VcpuRunner(Vcpu& vcpu, ExitHandler& handler, uint32_t initial_pause);
    ~VcpuRunner();
    VcpuRunner(const VcpuRunner&) = delete;
    VcpuRunner& operator=(const VcpuRunner&) = delete;

    void start();
    void stop(); // leaves the guest for good and joins the thread

    Vcpu& vcpu() { return m_vcpu; }
    void add_pause(uint32_t reasons);
    void remove_pause(uint32_t reasons);
    uint32_t pause_reasons() const;

    // Run `work` on the vCPU thread, outside the guest, as soon as possible (also while parked).
    void post(Work work);
    // Force the vCPU out of the guest so that it looks at its state again.
    void kick();

    // Blocks until the thread is parked (out of the guest, with a pause reason set) or the timeout.
    bool wait_parked(std::chrono::milliseconds timeout);
    // Adds kPauseSync, waits until parked, runs fn, removes kPauseSync.
    bool with_vcpu_parked(const std::function<void(Vcpu&)>& fn, std::chrono::milliseconds timeout);

    bool exited() const;
    // The thread's kernel id, once started (for pinning and for reading its CPU time).
    pid_t tid();

private:
    void thread_main();
    void apply(ExitOutcome outcome);
    void kick_locked();

    Vcpu& m_vcpu;
    ExitHandler& m_handler;

    mutable std::mutex m_lock;
    std::condition_variable m_cv;        // wakes the vCPU thread
    std::condition_variable m_parked_cv; // wakes waiters for the parked state
    uint32_t m_reasons;
    uint32_t m_sync_count = 0;
    std::deque<Work> m_work;
    bool m_stop = false;
    bool m_parked = false;
    bool m_exited = false;
    bool m_started = false;
    pid_t m_tid = 0;
    std::thread m_thread;
};

} // namespace xkvm::hv

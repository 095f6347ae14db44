#include "hv/vcpu_runner.h"

#include <csignal>
#include <pthread.h>

#include "base/log.h"
#include "base/thread_role.h"

namespace xkvm::hv {

namespace {

// A signal with an empty handler: its only job is to make a blocking run (KVM_RUN) return EINTR.
int kick_signal()
{
    static const int sig = [] {
        int s = SIGRTMIN + 3;
        struct sigaction sa {};
        sa.sa_handler = [](int) { };
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0; // no SA_RESTART: the run must come back
        sigaction(s, &sa, nullptr);
        return s;
    }();
    return sig;
}

} // namespace

VcpuRunner::VcpuRunner(Vcpu& vcpu, ExitHandler& handler, uint32_t initial_pause)
    : m_vcpu(vcpu), m_handler(handler), m_reasons(initial_pause)
{
    kick_signal();
}

VcpuRunner::~VcpuRunner()
{
    stop();
}

void VcpuRunner::start()
{
    std::lock_guard guard(m_lock);
    if (m_started)
        return;
    m_started = true;
    m_thread = std::thread([this] { thread_main(); });
}

void VcpuRunner::stop()
{
    {
        std::lock_guard guard(m_lock);
        if (!m_started || m_exited) {
            m_stop = true;
        } else {
            m_stop = true;
            kick_locked();
            m_cv.notify_all();
        }
    }
    if (m_thread.joinable())
        m_thread.join();
}

void VcpuRunner::kick_locked()
{
    m_vcpu.request_immediate_exit();
    // A parked thread is not running the guest: it looks at its state when it leaves the park anyway.
    if (m_started && !m_exited && !m_parked && m_thread.joinable())
        pthread_kill(m_thread.native_handle(), kick_signal());
}

void VcpuRunner::kick()
{
    std::lock_guard guard(m_lock);
    kick_locked();
}

void VcpuRunner::add_pause(uint32_t reasons)
{
    std::lock_guard guard(m_lock);
    if (reasons & kPauseSync)
        ++m_sync_count;
    m_reasons |= reasons;
    kick_locked();
}

void VcpuRunner::remove_pause(uint32_t reasons)
{
    std::lock_guard guard(m_lock);
    if ((reasons & kPauseSync) && m_sync_count > 0 && --m_sync_count > 0)
        reasons &= ~kPauseSync; // another holder still needs it out
    m_reasons &= ~reasons;
    m_cv.notify_all();
}

uint32_t VcpuRunner::pause_reasons() const
{
    std::lock_guard guard(m_lock);
    return m_reasons;
}

pid_t VcpuRunner::tid()
{
    std::unique_lock lock(m_lock);
    // start() returns before the thread has run; its id appears a moment later.
    m_parked_cv.wait_for(lock, std::chrono::seconds(5), [&] { return m_tid != 0 || !m_started; });
    return m_tid;
}

bool VcpuRunner::exited() const
{
    std::lock_guard guard(m_lock);
    return m_exited;
}

void VcpuRunner::post(Work work)
{
    std::lock_guard guard(m_lock);
    m_work.push_back(std::move(work));
    kick_locked();
    m_cv.notify_all();
}

bool VcpuRunner::wait_parked(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(m_lock);
    return m_parked_cv.wait_for(lock, timeout, [&] { return m_parked || m_exited || !m_started; });
}

bool VcpuRunner::with_vcpu_parked(const std::function<void(Vcpu&)>& fn, std::chrono::milliseconds timeout)
{
    add_pause(kPauseSync);
    bool parked = wait_parked(timeout);
    if (parked)
        fn(m_vcpu);
    remove_pause(kPauseSync);
    return parked;
}

void VcpuRunner::apply(ExitOutcome outcome)
{
    if (outcome == ExitOutcome::Shutdown) {
        std::lock_guard guard(m_lock);
        m_reasons |= kPauseShutdown;
    }
}

void VcpuRunner::thread_main()
{
    char name[16];
    snprintf(name, sizeof(name), "vcpu%u", m_vcpu.id());
    pthread_setname_np(pthread_self(), name);
    enter_thread_role(ThreadRole::Vcpu);

    std::unique_lock lock(m_lock);
    m_tid = gettid();
    m_parked_cv.notify_all();
    while (true) {
        // Cleared before looking at the state: a kick that lands after this line makes the next
        // run return at once, so nothing posted or paused from now on can be missed.
        m_vcpu.clear_immediate_exit();
        while (!m_work.empty()) {
            Work work = std::move(m_work.front());
            m_work.pop_front();
            lock.unlock();
            work(m_vcpu);
            lock.lock();
        }
        if (m_stop)
            break;
        if (m_reasons != 0) {
            m_parked = true;
            m_parked_cv.notify_all();
            m_cv.wait(lock, [&] { return m_stop || m_reasons == 0 || !m_work.empty(); });
            m_parked = false;
            continue;
        }
        lock.unlock();

        if (!m_handler.before_entry(m_vcpu)) {
            lock.lock();
            continue;
        }
        Exit& exit = m_vcpu.run();
        ExitContext ctx { m_vcpu, exit };
        ExitOutcome outcome = exit.kind == Exit::Kind::Interrupted ? ExitOutcome::Resume : m_handler.handle_exit(ctx);
        apply(outcome);
        lock.lock();
    }
    m_parked = true;
    m_exited = true;
    m_parked_cv.notify_all();
}

} // namespace xkvm::hv

#include "vmm/timer_service.h"

#include <pthread.h>

#include <algorithm>

#include "base/thread_role.h"

namespace xkvm::vmm {

TimerService::TimerService(size_t max_timers) : m_max_timers(max_timers), m_thread([this] { run(); }) { }

TimerService::~TimerService()
{
    shutdown();
}

void TimerService::shutdown()
{
    {
        std::lock_guard guard(m_lock);
        m_stop = true;
        m_timers.clear();
        m_when.clear();
    }
    m_cv.notify_all();
    if (m_thread.joinable() && m_thread.get_id() != std::this_thread::get_id())
        m_thread.join();
}

bool TimerService::insert_locked(uint64_t id, Clock::time_point when, Callback fn)
{
    if (m_stop || m_timers.size() >= m_max_timers)
        return false;
    m_timers.emplace(Key { when, id }, std::move(fn));
    m_when[id] = when;
    m_peak = std::max(m_peak, m_timers.size());
    m_cv.notify_all();
    return true;
}

uint64_t TimerService::schedule(Clock::time_point when, Callback fn)
{
    std::lock_guard guard(m_lock);
    uint64_t id = m_next_id++;
    return insert_locked(id, when, std::move(fn)) ? id : 0;
}

void TimerService::schedule_again(uint64_t id, Clock::time_point when, Callback fn)
{
    std::lock_guard guard(m_lock);
    if (id == m_running && m_running_cancelled)
        return;
    (void)insert_locked(id, when, std::move(fn));
}

bool TimerService::cancel(uint64_t id)
{
    std::lock_guard guard(m_lock);
    if (id != 0 && id == m_running)
        m_running_cancelled = true;
    auto it = m_when.find(id);
    if (it == m_when.end())
        return false;
    m_timers.erase(Key { it->second, id });
    m_when.erase(it);
    return true;
}

size_t TimerService::pending() const
{
    std::lock_guard guard(m_lock);
    return m_timers.size();
}

size_t TimerService::peak() const
{
    std::lock_guard guard(m_lock);
    return m_peak;
}

std::optional<TimerService::Clock::time_point> TimerService::next_deadline() const
{
    std::lock_guard guard(m_lock);
    if (m_timers.empty())
        return std::nullopt;
    return m_timers.begin()->first.first;
}

void TimerService::run()
{
    pthread_setname_np(pthread_self(), "timers");
    enter_thread_role(ThreadRole::Io);
    std::unique_lock lock(m_lock);
    while (!m_stop) {
        if (m_timers.empty()) {
            m_cv.wait(lock);
            continue;
        }
        auto first = m_timers.begin();
        if (first->first.first > Clock::now()) {
            // A copy: a cancel while we wait erases the node the key lives in.
            const Clock::time_point deadline = first->first.first;
            m_cv.wait_until(lock, deadline);
            continue;
        }
        uint64_t id = first->first.second;
        Callback fn = std::move(first->second);
        m_timers.erase(first);
        m_when.erase(id);
        m_running = id;
        m_running_cancelled = false;
        lock.unlock();
        fn();
        lock.lock();
        m_running = 0;
    }
}

} // namespace xkvm::vmm

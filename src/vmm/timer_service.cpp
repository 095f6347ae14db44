#include "vmm/timer_service.h"

#include <pthread.h>

namespace xkvm::vmm {

TimerService::TimerService() : m_thread([this] { run(); }) { }

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
    }
    m_cv.notify_all();
    if (m_thread.joinable() && m_thread.get_id() != std::this_thread::get_id())
        m_thread.join();
}

uint64_t TimerService::schedule(Clock::time_point when, Callback fn)
{
    std::lock_guard guard(m_lock);
    uint64_t id = m_next_id++;
    m_timers.emplace(when, std::make_pair(id, std::move(fn)));
    m_cv.notify_all();
    return id;
}

void TimerService::schedule_again(uint64_t id, Clock::time_point when, Callback fn)
{
    std::lock_guard guard(m_lock);
    if (m_stop)
        return;
    m_timers.emplace(when, std::make_pair(id, std::move(fn)));
    m_cv.notify_all();
}

bool TimerService::cancel(uint64_t id)
{
    std::lock_guard guard(m_lock);
    for (auto it = m_timers.begin(); it != m_timers.end(); ++it) {
        if (it->second.first == id) {
            m_timers.erase(it);
            return true;
        }
    }
    return false;
}

void TimerService::run()
{
    pthread_setname_np(pthread_self(), "timers");
    std::unique_lock lock(m_lock);
    while (!m_stop) {
        if (m_timers.empty()) {
            m_cv.wait(lock);
            continue;
        }
        auto first = m_timers.begin();
        if (first->first > Clock::now()) {
            m_cv.wait_until(lock, first->first);
            continue;
        }
        Callback fn = std::move(first->second.second);
        m_timers.erase(first);
        lock.unlock();
        fn();
        lock.lock();
    }
}

} // namespace xkvm::vmm

// A second vCPU thread for racing hypercalls against one domain, kept for the whole run: starting a
// thread per input would cost more than the input.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace xkvm::fuzz {

class SecondVcpu {
public:
    SecondVcpu() : m_thread([this] { run(); }) { }
    ~SecondVcpu()
    {
        {
            std::lock_guard guard(m_lock);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }

    // Runs `job` on the second thread while the caller goes on with its own steps.
    void start(std::function<void()> job)
    {
        {
            std::lock_guard guard(m_lock);
            m_job = std::move(job);
        }
        m_cv.notify_all();
    }
    void wait()
    {
        std::unique_lock lock(m_lock);
        m_cv.wait(lock, [this] { return !m_job; });
    }

private:
    void run()
    {
        std::unique_lock lock(m_lock);
        for (;;) {
            m_cv.wait(lock, [this] { return m_stop || m_job; });
            if (m_stop)
                return;
            lock.unlock();
            m_job();
            lock.lock();
            m_job = nullptr;
            m_cv.notify_all();
        }
    }

    std::mutex m_lock;
    std::condition_variable m_cv;
    std::function<void()> m_job;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace xkvm::fuzz

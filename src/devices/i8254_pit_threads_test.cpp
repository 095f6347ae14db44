// The PIT under real threads: vCPU-like threads doing port I/O and reprogramming while a timer
// thread runs its alarms. Checks that nothing deadlocks (the PIT calls set_alarm/cancel_alarm with its
// lock held while the timer thread calls into the PIT), that IRQ 0 pulses never interleave, and
// that the edges keep coming. Best run under the sanitizers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "devices/i8254_pit.h"

using namespace xkvm::devices;

namespace {

// A DeviceClock like the VMM's: steady time, one thread running due alarms without its lock.
class ThreadClock final : public DeviceClock {
public:
    ThreadClock() : m_thread([this] { run(); }) { }
    ~ThreadClock() override { stop(); }

    uint64_t now_ns() const override
    {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now().time_since_epoch())
                                         .count());
    }
    uint64_t set_alarm(uint64_t deadline_ns, std::function<void()> fn) override
    {
        std::lock_guard guard(m_lock);
        uint64_t handle = m_next++;
        m_alarms.emplace(handle, std::make_pair(deadline_ns, std::move(fn)));
        m_cv.notify_all();
        return handle;
    }
    void cancel_alarm(uint64_t handle) override
    {
        std::lock_guard guard(m_lock);
        m_alarms.erase(handle);
    }
    void stop()
    {
        {
            std::lock_guard guard(m_lock);
            m_stop = true;
        }
        m_cv.notify_all();
        if (m_thread.joinable())
            m_thread.join();
    }

private:
    void run()
    {
        std::unique_lock lock(m_lock);
        while (!m_stop) {
            auto first = m_alarms.end();
            for (auto it = m_alarms.begin(); it != m_alarms.end(); ++it)
                if (first == m_alarms.end() || it->second.first < first->second.first)
                    first = it;
            if (first == m_alarms.end()) {
                m_cv.wait(lock);
                continue;
            }
            uint64_t now = now_ns();
            if (first->second.first > now) {
                m_cv.wait_for(lock, std::chrono::nanoseconds(first->second.first - now));
                continue;
            }
            auto fn = std::move(first->second.second);
            m_alarms.erase(first);
            lock.unlock();
            fn();
            lock.lock();
        }
    }

    std::mutex m_lock;
    std::condition_variable m_cv;
    std::map<uint64_t, std::pair<uint64_t, std::function<void()>>> m_alarms;
    uint64_t m_next = 1;
    bool m_stop = false;
    std::thread m_thread;
};

void out(IoDevice& dev, uint64_t offset, uint8_t v) { dev.io_write(offset, std::span(&v, 1)); }
uint8_t in(IoDevice& dev, uint64_t offset)
{
    uint8_t v = 0;
    dev.io_read(offset, std::span(&v, 1));
    return v;
}

} // namespace

TEST(I8254PitThreads, PortIoRacingTheTimerThreadKeepsPulsesWhole)
{
    ThreadClock clock;
    std::mutex edge_lock;
    std::condition_variable edge_cv;
    uint64_t edges = 0;
    bool level = false;
    std::atomic<bool> bad_pulse = false;
    I8254Pit pit(clock, [&](bool l) {
        std::lock_guard guard(edge_lock);
        if (l == level)
            bad_pulse = true;
        level = l;
        if (l)
            ++edges;
        edge_cv.notify_all();
    });

    out(pit, 3, 0x34); // counter 0, mode 2, 1193 = 1 kHz
    out(pit, 0, 0xa9);
    out(pit, 0, 0x04);
    std::vector<std::thread> vcpus;
    for (int t = 0; t < 3; ++t) {
        vcpus.emplace_back([&pit, t] {
            for (int i = 0; i < 20'000; ++i) {
                switch ((i + t) % 4) {
                case 0:
                    out(pit, 3, 0x00); // latch and read counter 0
                    in(pit, 0);
                    in(pit, 0);
                    break;
                case 1:
                    out(pit.control_port(), 0, static_cast<uint8_t>(i & 1));
                    in(pit.control_port(), 0);
                    break;
                case 2:
                    out(pit, 0, static_cast<uint8_t>(0x40 + (i & 0x3f))); // rewrite the period
                    break;
                default:
                    out(pit, 3, 0xe2); // read back counter 0's status
                    in(pit, 0);
                    break;
                }
            }
        });
    }
    for (auto& v : vcpus)
        v.join();
    {
        // Whatever the threads left the count at, counter 0 is still periodic: edges keep coming.
        out(pit, 3, 0x34);
        out(pit, 0, 0xa9);
        out(pit, 0, 0x04);
        std::unique_lock lock(edge_lock);
        uint64_t seen = edges;
        EXPECT_TRUE(edge_cv.wait_for(lock, std::chrono::seconds(10), [&] { return edges >= seen + 20; }));
    }
    out(pit, 3, 0x30);
    clock.stop(); // no alarm may run once the PIT is gone
    EXPECT_FALSE(bad_pulse);
}

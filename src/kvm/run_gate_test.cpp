// The run gate with threads standing in for vCPUs in KVM_RUN: closing kicks every one inside and
// returns only once all have left; none enters until it opens.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kvm/run_gate.h"

using namespace xkvm::kvm;

namespace {

// A "vCPU" inside the gate until kicked, counting its entries.
struct FakeVcpu {
    explicit FakeVcpu(RunGate& g) : gate(g) { }
    RunGate& gate;
    std::mutex lock;
    std::condition_variable cv;
    bool kicked = false;
    std::atomic<int> entries { 0 };
    std::atomic<bool> inside { false };
    // The gate calls it under its own lock while this vCPU is inside. `kicked` is set under `lock`:
    // set between the waiter's check and its sleep, the wake-up would be lost and the test hang.
    std::function<void()> kick = [this] {
        {
            std::lock_guard g(lock);
            kicked = true;
        }
        cv.notify_all();
    };

    void run_once()
    {
        gate.enter(&kick);
        ++entries;
        inside = true;
        std::unique_lock l(lock);
        cv.wait(l, [&] { return kicked; });
        kicked = false;
        inside = false;
        l.unlock();
        gate.leave(&kick);
    }
};

TEST(RunGate, CloseKicksEveryVcpuInsideAndWaitsForThem)
{
    RunGate gate;
    FakeVcpu a(gate), b(gate);
    std::thread ta([&] { a.run_once(); }), tb([&] { b.run_once(); });
    while (!a.inside || !b.inside)
        std::this_thread::yield();
    gate.close(); // returns only after both left
    EXPECT_FALSE(a.inside);
    EXPECT_FALSE(b.inside);
    ta.join();
    tb.join();
    gate.open();
    std::thread again([&] { a.run_once(); }); // open: enters
    while (!a.inside)
        std::this_thread::yield();
    EXPECT_EQ(a.entries, 2);
    gate.close();
    again.join();
    gate.open();
}

TEST(RunGate, AnEmptyGateClosesAtOnceAndArrivalsEnterOnceOpen)
{
    RunGate gate;
    FakeVcpu a(gate);
    gate.close(); // nobody inside: returns at once
    gate.open();
    std::thread t([&] { a.run_once(); });
    while (!a.inside)
        std::this_thread::yield();
    gate.close();
    t.join();
    EXPECT_EQ(a.entries, 1);
    gate.open();
}

} // namespace

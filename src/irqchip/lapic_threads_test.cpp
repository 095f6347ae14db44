// Senders on other threads race the owner's acknowledge/EOI; no interrupt may be lost or doubled.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <thread>

#include "irqchip/fake_lapic_host.h"
#include "irqchip/lapic.h"

namespace xkvm::irqchip::test {
namespace {

TEST(LapicThreads, ConcurrentAcceptCountsExactly)
{
    constexpr unsigned kSenders = 4;
    constexpr unsigned kPerSender = 20000;
    FakeLapicHost host;
    Lapic lapic(0, true, host);
    software_enable(lapic);
    std::array<std::atomic<unsigned>, 256> delivered {};
    std::atomic<bool> give_up { false };

    // Each sender owns two vectors of different classes and re-sends one only once the owner took it,
    // so every accept must turn into exactly one acknowledge.
    auto sender = [&](unsigned index) {
        const uint8_t vectors[2] = { static_cast<uint8_t>(0x30 + index), static_cast<uint8_t>(0xa0 + index) };
        for (unsigned i = 0; i < kPerSender && !give_up; ++i) {
            uint8_t v = vectors[i % 2];
            unsigned before = delivered[v].load();
            lapic.accept(DeliveryMode::Fixed, v, false);
            while (delivered[v].load() == before && !give_up)
                std::this_thread::yield();
        }
    };
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < kSenders; ++i)
        threads.emplace_back(sender, i);

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    unsigned total = 0;
    while (total < kSenders * kPerSender) {
        if (std::chrono::steady_clock::now() > deadline) {
            give_up = true;
            break;
        }
        auto v = lapic.acknowledge();
        if (!v) {
            std::this_thread::yield();
            continue;
        }
        // Ack one level deeper now and then, so nesting and EOI ordering race the senders too.
        auto nested = lapic.acknowledge();
        if (nested) {
            delivered[*nested].fetch_add(1);
            ++total;
            eoi(lapic);
        }
        delivered[*v].fetch_add(1);
        ++total;
        eoi(lapic);
    }
    for (auto& t : threads)
        t.join();
    ASSERT_FALSE(give_up) << "interrupts lost: " << total;
    EXPECT_EQ(total, kSenders * kPerSender);
    for (unsigned i = 0; i < kSenders; ++i)
        EXPECT_EQ(delivered[0x30 + i] + delivered[0xa0 + i], kPerSender);
    EXPECT_FALSE(lapic.interrupt_pending());
    EXPECT_GE(host.kicks.load(), uint64_t { kSenders * kPerSender });
}

} // namespace
} // namespace xkvm::irqchip::test

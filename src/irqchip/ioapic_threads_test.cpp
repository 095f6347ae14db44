// A resampled level line fed from another thread, as the Xen callback GSI is: every event raised must
// be seen by the vCPU's handler, with no wakeup lost between the handler's EOI and a new event.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "irqchip/apic_bus.h"
#include "irqchip/fake_lapic_host.h"
#include "irqchip/ioapic.h"

namespace xkvm::irqchip::test {
namespace {

TEST(IoapicThreads, ResampledLineLosesNoEvent)
{
    constexpr unsigned kEvents = 50000;
    constexpr unsigned kPin = 20;
    constexpr uint8_t kVector = 0x90;
    IoapicMachine m;
    Lapic lapic(0, true, m);
    software_enable(lapic);
    m.bus.attach(lapic);
    m.io.mmio_write(0x00, 0x10 + 2 * kPin);
    m.io.mmio_write(0x10, kVector | (1u << 15));

    std::atomic<unsigned> events { 0 };
    std::atomic<bool> give_up { false };
    m.io.set_resample(kPin, [&] { return events.load() != 0; });
    // Every few events the producer waits for the handler, so raises keep landing around EOIs.
    std::thread producer([&] {
        for (unsigned i = 0; i < kEvents && !give_up; ++i) {
            events.fetch_add(1);
            m.io.set_irq(kPin, true);
            while (i % 4 == 3 && events.load() != 0 && !give_up)
                std::this_thread::yield();
        }
    });

    unsigned consumed = 0;
    unsigned interrupts = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (consumed < kEvents && std::chrono::steady_clock::now() < deadline) {
        auto v = lapic.acknowledge();
        if (!v) {
            std::this_thread::yield();
            continue;
        }
        ASSERT_EQ(*v, kVector);
        ++interrupts;
        consumed += events.exchange(0);
        eoi(lapic);
    }
    give_up = true;
    producer.join();
    EXPECT_EQ(consumed, kEvents);
    EXPECT_LE(interrupts, kEvents);
    // Once drained, the line is low and nothing is left pending.
    EXPECT_FALSE(lapic.interrupt_pending());
    EXPECT_FALSE(m.io.redirection(kPin) & (1u << 14));
}

} // namespace
} // namespace xkvm::irqchip::test

// The machine under a fuzzed xen::Domain: guest memory laid out as hypercall_input.h says, a clock
// that moves only when the input says so, and platform calls that only count. Like the unit tests'
// FakePlatform (src/xen/test_support.h) but without gtest, and with the memory the target checks
// after every step: a read-only page and a canary page behind shared_info that must never change.
#pragma once

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "hypercall_input.h"
#include "memory/physmap.h"
#include "xen/fake_alarms.h"
#include "xen/platform.h"

namespace xkvm::fuzz {

inline constexpr uint8_t kCanaryByte = 0xa5;
inline constexpr uint8_t kReadOnlyByte = 0x5a;

class FuzzPlatform final : public xen::Platform, public xen::testing::FakeAlarms {
public:
    FuzzPlatform()
    {
        auto pm = memory::Physmap::create(kBackingBytes, "hypercall-fuzz");
        if (!pm)
            std::abort();
        mem = pm.release_value();
        // The VMM's view has holes and read-only pages; so does this one.
        if (!mem->map(0, kLowRamEnd, 0) || !mem->map(kReadOnlyPage, kPage, kReadOnlyPage, memory::Protection::ReadOnly)
            || !mem->map(kHighRamStart, kRamBytes - kHighRamStart, kHighRamStart))
            std::abort();
        std::memset(mem->host_base() + kReadOnlyPage, kReadOnlyByte, kPage);
        std::memset(mem->host_base() + kCanaryOffset, kCanaryByte, kPage);
    }

    memory::Physmap& physmap() override { return *mem; }
    void console_write(std::string_view bytes) override { console_bytes += bytes.size(); }
    void kick_vcpu(uint32_t) override { ++kicks; }
    void lapic_vector(uint32_t, uint8_t) override { ++lapic_vectors; }
    void assert_callback_gsi(uint32_t gsi) override
    {
        if (gsi >= 48) // the IOAPIC's pins plus the PCI INTx swizzle's range
            std::abort();
    }
    uint64_t system_time_ns() const override { return now_ns; }
    uint64_t set_alarm(uint64_t deadline_ns, std::function<void()> fn) override
    {
        return add_alarm(deadline_ns, std::move(fn));
    }
    void cancel_alarm(uint64_t handle) override { remove_alarm(handle); }
    xkvm::Status vcpu_initialise(uint32_t, const x86::CpuState&) override { return {}; }
    xkvm::Status vcpu_up(uint32_t vcpu) override
    {
        up.insert(vcpu);
        return {};
    }
    xkvm::Status vcpu_down(uint32_t vcpu) override
    {
        up.erase(vcpu);
        return {};
    }
    bool vcpu_is_up(uint32_t vcpu) const override { return up.count(vcpu) != 0; }

    // Moves the clock on, running alarms that come due in deadline order (as the timer thread would).
    void advance(uint64_t ns)
    {
        now_ns = std::min(now_ns + ns, kClockLimit);
        run_due();
    }

    // System time stays far from wrapping: a guest's deadlines are absolute, the clock is not its to set.
    static constexpr uint64_t kClockLimit = 1ull << 62;

    std::unique_ptr<memory::Physmap> mem;
    uint64_t console_bytes = 0, kicks = 0, lapic_vectors = 0;
    std::set<uint32_t> up { 0 };
};

} // namespace xkvm::fuzz

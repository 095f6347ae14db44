// The machine under a fuzzed xen::Domain: guest memory laid out as hypercall_input.h says, platform
// calls that only count, and the VMM's own alarms: GuestAlarms on a real TimerService thread, so
// guest deadlines go through the same clamping arithmetic and the same thread as in xkvm-vmm. The
// guest clock runs in real time plus jumps the input asks for.
//
// One platform lives for the whole run (a new memfd, mapping and timer thread per input cost more
// than the hypercalls did); reset() puts it back as new between inputs. Alarms of an input that
// ended are fenced off by an epoch, so none runs against the next input's domain.
//
// Memory checked after every step: a read-only page and a canary page behind shared_info that must
// never change.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>

#include "hypercall_input.h"
#include "memory/physmap.h"
#include "vmm/guest_alarms.h"
#include "vmm/timer_service.h"
#include "xen/platform.h"

namespace xkvm::fuzz {

inline constexpr uint8_t kCanaryByte = 0xa5;
inline constexpr uint8_t kReadOnlyByte = 0x5a;

class FuzzPlatform final : public xen::Platform {
public:
    // Alarms one domain may have pending (the VMM's cap is larger; a small one reaches the refusals).
    static constexpr size_t kMaxAlarms = 8;
    // System time stays far from wrapping: a guest's deadlines are absolute, the clock is not its to set.
    static constexpr uint64_t kClockLimit = 1ull << 62;

    FuzzPlatform() : m_timers(kMaxAlarms), m_alarms(m_timers, [this] { return system_time_ns(); })
    {
        auto pm = memory::Physmap::create(kBackingBytes, "hypercall-fuzz");
        if (!pm)
            std::abort();
        mem = pm.release_value();
        reset();
    }

    // Between inputs, with no domain left: memory, mappings, vCPUs and clock as at the start.
    void reset()
    {
        for (const auto& m : mem->mappings())
            if (!mem->unmap(m.gpa, m.size))
                std::abort();
        std::memset(mem->host_base(), 0, kRamBytes + kPage); // RAM and shared_info
        std::memset(mem->host_base() + kReadOnlyPage, kReadOnlyByte, kPage);
        std::memset(mem->host_base() + kCanaryOffset, kCanaryByte, kPage);
        // The VMM's view has holes and read-only pages; so does this one.
        if (!mem->map(0, kLowRamEnd, 0) || !mem->map(kReadOnlyPage, kPage, kReadOnlyPage, memory::Protection::ReadOnly)
            || !mem->map(kHighRamStart, kRamBytes - kHighRamStart, kHighRamStart))
            std::abort();
        m_epoch = std::make_shared<Epoch>();
        m_start = std::chrono::steady_clock::now();
        m_skew = 1'000'000;
        up_mask = 1;
        console_bytes = kicks = lapic_vectors = 0;
    }
    // The input is over: no alarm of it may run from now on, and none may be left.
    void end_input()
    {
        std::lock_guard fence(m_epoch->lock);
        m_epoch->live = false;
    }
    size_t pending_alarms() const { return m_timers.pending(); }

    memory::Physmap& physmap() override { return *mem; }
    void console_write(std::string_view bytes) override { console_bytes += bytes.size(); }
    void kick_vcpu(uint32_t) override { ++kicks; }
    void lapic_vector(uint32_t, uint8_t) override { ++lapic_vectors; }
    void assert_callback_gsi(uint32_t gsi) override
    {
        if (gsi >= 48) // the IOAPIC's pins plus the PCI INTx swizzle's range
            std::abort();
    }
    uint64_t system_time_ns() const override
    {
        auto real = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - m_start);
        return std::min(m_skew.load() + static_cast<uint64_t>(real.count()), kClockLimit);
    }
    uint64_t set_alarm(uint64_t deadline_ns, std::function<void()> fn) override
    {
        return m_alarms.set(deadline_ns, [epoch = m_epoch, fn = std::move(fn)] {
            // Held while the alarm runs, so end_input() waits for one in flight.
            std::lock_guard fence(epoch->lock);
            if (epoch->live)
                fn();
        });
    }
    void cancel_alarm(uint64_t handle) override { m_alarms.cancel(handle); }
    xkvm::Status vcpu_initialise(uint32_t, const x86::CpuState&) override { return {}; }
    xkvm::Status vcpu_up(uint32_t vcpu) override
    {
        up_mask |= bit(vcpu);
        return {};
    }
    xkvm::Status vcpu_down(uint32_t vcpu) override
    {
        up_mask &= ~bit(vcpu);
        return {};
    }
    bool vcpu_is_up(uint32_t vcpu) const override { return (up_mask.load() & bit(vcpu)) != 0; }

    // The guest clock jumps forward (a host suspend, a migrated guest): alarms already set wake on
    // their host delay and find their deadline passed.
    void advance(uint64_t ns) { m_skew = std::min(m_skew.load() + ns, kClockLimit); }

    std::unique_ptr<memory::Physmap> mem;
    std::atomic<uint64_t> console_bytes = 0, kicks = 0, lapic_vectors = 0;
    std::atomic<uint32_t> up_mask = 1;

private:
    struct Epoch {
        std::mutex lock;
        bool live = true;
    };
    static uint32_t bit(uint32_t vcpu) { return vcpu < 32 ? 1u << vcpu : 0; }

    vmm::TimerService m_timers;
    vmm::GuestAlarms m_alarms;
    std::shared_ptr<Epoch> m_epoch;
    std::chrono::steady_clock::time_point m_start;
    std::atomic<uint64_t> m_skew = 0;
};

} // namespace xkvm::fuzz

// The time source and alarms an emulated timer device runs on. In production it is the VMM's guest
// clock and timer thread; in tests a FakeDeviceClock (fake_device_clock.h) that moves only when told.
#pragma once

#include <cstdint>
#include <functional>

namespace xkvm::devices {

class DeviceClock {
public:
    // Returned by set_alarm for "no alarm"; real handles are never 0.
    static constexpr uint64_t kNoAlarm = 0;

    virtual ~DeviceClock() = default;

    // Monotonic nanoseconds. Devices count guest-visible time from this, so it should be the clock
    // the guest's TSC runs on: a guest calibrating its TSC against the PIT then gets the right rate.
    virtual uint64_t now_ns() const = 0;

    // Runs `fn` once, at or after `deadline_ns`, on some other thread (or inside the fake's advance()).
    // Implementations must not run `fn` inside set_alarm or cancel_alarm, and must not wait there for
    // a running `fn`: devices call both with their own lock held, and `fn` takes that lock.
    virtual uint64_t set_alarm(uint64_t deadline_ns, std::function<void()> fn) = 0;

    // Best effort: an alarm already being run may still run after this returns. Devices therefore
    // tag each alarm with a generation and ignore one that is no longer current.
    virtual void cancel_alarm(uint64_t handle) = 0;
};

} // namespace xkvm::devices

// The emulated timers' DeviceClock on a running domain: the guest's system time (what its PV clock
// reads, so a guest calibrating its TSC against the PIT gets the rate the PV clock announces) and
// the Machine's alarms on its timer thread, which never run a callback inside set_alarm/cancel_alarm
// nor wait there for one, as DeviceClock requires.
#pragma once

#include "devices/device_clock.h"
#include "xen/vcpu_timers.h"

namespace xkvm::vmm {

class GuestDeviceClock final : public devices::DeviceClock {
public:
    explicit GuestDeviceClock(xen::TimerHost& host) : m_host(host) { }

    uint64_t now_ns() const override { return m_host.system_time_ns(); }
    uint64_t set_alarm(uint64_t deadline_ns, std::function<void()> fn) override
    {
        return m_host.set_alarm(deadline_ns, std::move(fn));
    }
    void cancel_alarm(uint64_t handle) override { m_host.cancel_alarm(handle); }

private:
    xen::TimerHost& m_host;
};

} // namespace xkvm::vmm

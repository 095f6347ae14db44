#include "xen/vcpu_timers.h"

#include "xen/xen_errno.h"

namespace xkvm::xen {

VcpuTimers::VcpuTimers(TimerHost& host, uint32_t max_vcpus, std::function<void(uint32_t)> fire)
    : m_host(host), m_fire(std::move(fire)), m_single(max_vcpus), m_periodic(max_vcpus)
{
}

VcpuTimers::~VcpuTimers()
{
    stop_all();
}

void VcpuTimers::arm_locked(uint32_t vcpu, Timer& t, bool periodic)
{
    if (t.armed)
        m_host.cancel_alarm(t.handle);
    uint64_t generation = ++t.generation;
    t.armed = true;
    t.handle = m_host.set_alarm(t.deadline, [this, vcpu, periodic, generation] { on_alarm(vcpu, periodic, generation); });
}

void VcpuTimers::on_alarm(uint32_t vcpu, bool periodic, uint64_t generation)
{
    std::unique_lock firing(m_firing, std::defer_lock);
    {
        std::lock_guard guard(m_lock);
        Timer& t = periodic ? m_periodic[vcpu] : m_single[vcpu];
        if (!t.armed || t.generation != generation)
            return; // stopped or re-armed since
        uint64_t now = m_host.system_time_ns();
        if (now < t.deadline) {
            arm_locked(vcpu, t, periodic); // the alarm came early by the guest's clock: wait on
            return;
        }
        if (periodic) {
            t.last_tick = now;
            // Missed periods are not replayed in a burst: the next tick is one period from now.
            t.deadline += t.period;
            if (t.deadline <= now)
                t.deadline = now + t.period;
            arm_locked(vcpu, t, true);
        } else {
            t.armed = false;
        }
        firing.lock();
    }
    m_fire(vcpu);
}

Status VcpuTimers::set_singleshot(uint32_t vcpu, uint64_t deadline_ns, bool future_only)
{
    if (vcpu >= m_single.size())
        return xen_fail(XEN_EINVAL, "timer of vcpu {} which does not exist", vcpu);
    uint64_t now = m_host.system_time_ns();
    if (future_only && deadline_ns < now)
        return xen_fail(XEN_ETIME, "single-shot deadline {} ns is in the past (now {} ns)", deadline_ns, now);
    {
        std::lock_guard guard(m_lock);
        Timer& t = m_single[vcpu];
        t.deadline = deadline_ns;
        if (deadline_ns > now) {
            arm_locked(vcpu, t, false);
            return {};
        }
        if (t.armed)
            m_host.cancel_alarm(t.handle);
        t.armed = false;
        ++t.generation;
    }
    m_fire(vcpu); // already due
    return {};
}

void VcpuTimers::stop(std::vector<Timer>& timers, uint32_t vcpu)
{
    if (vcpu >= timers.size())
        return;
    {
        std::lock_guard guard(m_lock);
        Timer& t = timers[vcpu];
        if (t.armed)
            m_host.cancel_alarm(t.handle);
        t.armed = false;
        ++t.generation;
    }
    wait_for_firing();
}

void VcpuTimers::stop_singleshot(uint32_t vcpu)
{
    stop(m_single, vcpu);
}

Status VcpuTimers::set_periodic(uint32_t vcpu, uint64_t period_ns)
{
    if (vcpu >= m_periodic.size())
        return xen_fail(XEN_EINVAL, "timer of vcpu {} which does not exist", vcpu);
    if (period_ns < kMinPeriodNs || period_ns > kMaxPeriodNs)
        return xen_fail(XEN_EINVAL, "periodic timer of {} ns is out of range", period_ns);
    bool tick_now = false;
    {
        std::lock_guard guard(m_lock);
        Timer& t = m_periodic[vcpu];
        uint64_t now = m_host.system_time_ns();
        t.period = period_ns;
        // As Xen does: tick at once unless a tick came within the last period.
        if (!t.last_tick || now >= *t.last_tick + period_ns) {
            tick_now = true;
            t.last_tick = now;
            t.deadline = now + period_ns;
        } else {
            t.deadline = *t.last_tick + period_ns;
        }
        arm_locked(vcpu, t, true);
    }
    if (tick_now)
        m_fire(vcpu);
    return {};
}

void VcpuTimers::stop_periodic(uint32_t vcpu)
{
    stop(m_periodic, vcpu);
}

void VcpuTimers::stop_all()
{
    for (uint32_t v = 0; v < m_single.size(); ++v) {
        stop_singleshot(v);
        stop_periodic(v);
    }
}

} // namespace xkvm::xen

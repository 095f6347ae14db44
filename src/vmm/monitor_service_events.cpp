// The event path of the monitor service: vCPU exits become requests on the ring or in a slot,
// responses become what each vCPU does next, and a monitor's departure undoes everything.
#include "base/log.h"
#include "base/rate_limit.h"
#include "vmm/monitor_events.h"
#include "vmm/monitor_service.h"

namespace xkvm::vmm {

namespace {

RateLimiter& response_warnings()
{
    static RateLimiter limiter;
    return limiter;
}

// The frame the vCPU's code runs from, as Xen reports it: through the guest's page tables.
uint64_t rip_gfn(hv::Vcpu& v, const x86::CpuState& state)
{
    auto gpa = v.translate(rip_linear(state));
    return gpa ? *gpa >> 12 : kInvalidGfn;
}

} // namespace

hv::ExitOutcome MonitorService::on_guest_request(uint32_t vcpu, hv::Vcpu& v, uint64_t call_rax)
{
    std::lock_guard guard(m_lock);
    if (!m_channel || !m_config.guest_request)
        return hv::ExitOutcome::Resume; // Xen drops guest requests nobody asked for
    auto state = v.cpu_state();
    if (!state)
        return hv::ExitOutcome::Resume;
    return post_locked(vcpu, guest_request(vcpu, *state, call_rax), m_config.guest_request_sync);
}

hv::ExitOutcome MonitorService::on_introspect(uint32_t vcpu, hv::Vcpu& v, const hv::IntrospectExit& exit)
{
    std::lock_guard guard(m_lock);
    auto state = m_channel ? v.cpu_state() : Result<x86::CpuState>(fail(ENODEV, "no monitor"));
    if (!state) {
        // Raced with the monitor's departure, whose lifted limits now let it run.
        (void)v.finish_intercept(hv::InterceptFinish::Retry);
        return hv::ExitOutcome::Resume;
    }
    uint64_t gfn = exit.what == hv::IntrospectExit::What::Breakpoint ? rip_gfn(v, *state) : kInvalidGfn;
    return post_locked(vcpu, introspect_request(vcpu, *state, exit, gfn), true, exit.what);
}

hv::ExitOutcome MonitorService::on_debug(uint32_t vcpu, hv::Vcpu& v)
{
    std::lock_guard guard(m_lock);
    if (!m_channel || !m_vcpus[vcpu].singlestep)
        return hv::ExitOutcome::Resume;
    auto state = v.cpu_state();
    if (!state)
        return hv::ExitOutcome::Resume;
    return post_locked(vcpu, singlestep_request(vcpu, *state, rip_gfn(v, *state)), true);
}

hv::ExitOutcome MonitorService::post_locked(uint32_t vcpu, const vmevent::Event& request, bool sync,
                                            std::optional<hv::IntrospectExit::What> intercept)
{
    vmevent::Event event = request;
    if (sync)
        event.flags |= vmevent::kFlagVcpuPaused;
    VcpuState& st = m_vcpus[vcpu];
    st.intercept = intercept;
    if (sync && m_channel->submit_slot(vcpu, event)) {
        st.awaiting = true;
    } else if (m_queue.empty() && m_channel->put_ring(event)) {
        bool blocked = m_blocking.after_put(vcpu, m_channel->ring_free(), sync);
        if (!sync && !blocked)
            return hv::ExitOutcome::Resume;
        st.awaiting = sync;
    } else {
        // No room: wait, in arrival order, for a response to free an entry.
        m_queue.push_back({ vcpu, event, sync });
        st.queued = true;
        st.awaiting = sync;
    }
    m_runners[vcpu]->add_pause(hv::kPauseMonitor);
    return hv::ExitOutcome::Pause;
}

Status MonitorService::collect_responses_locked()
{
    vmevent::Event rsp;
    while (TRY(m_channel->take_ring_response(rsp)))
        apply_response_locked(rsp, std::nullopt);
    for (uint32_t v = 0; m_channel->has_slots() && v < m_channel->vcpus(); ++v)
        if (m_channel->take_slot_response(v, rsp))
            apply_response_locked(rsp, v);
    flush_queue_locked();
    return {};
}

void MonitorService::apply_response_locked(const vmevent::Event& response, std::optional<uint32_t> slot)
{
    auto action = vmevent::decode_response(response, static_cast<uint32_t>(m_runners.size()));
    if (action && slot && action->vcpu != *slot)
        action = fail(EPROTO, "the response in slot {} names vcpu {}", *slot, action->vcpu);
    if (!action) {
        if (auto dropped = response_warnings().admit())
            log::get("vmevent")->warn("monitor response ignored: {}{}", action.error().message, suppressed_note(*dropped));
        return;
    }
    VcpuState& st = m_vcpus[action->vcpu];
    // Responses to asynchronous events, or to nothing, free their ring entry and do no more.
    if (!st.awaiting || st.queued || !action->unpause)
        return;
    st.awaiting = false;
    auto intercept = std::exchange(st.intercept, std::nullopt);
    if (action->toggle_singlestep)
        st.singlestep = !st.singlestep;
    bool singlestep = st.singlestep;
    m_runners[action->vcpu]->post([a = *action, intercept, singlestep](hv::Vcpu& v) {
        if (a.regs)
            (void)v.set_regs(*a.regs);
        if (a.toggle_singlestep)
            (void)v.set_single_step(singlestep);
        if (intercept)
            (void)v.finish_intercept(finish_for(a.verdict, *intercept));
    });
    m_runners[action->vcpu]->remove_pause(hv::kPauseMonitor);
}

void MonitorService::flush_queue_locked()
{
    while (!m_queue.empty() && m_channel->ring_free() > 0) {
        Queued q = m_queue.front();
        m_queue.pop_front();
        (void)m_channel->put_ring(q.event);
        m_vcpus[q.vcpu].queued = false;
        if (!q.sync && !m_blocking.after_put(q.vcpu, m_channel->ring_free(), false))
            m_runners[q.vcpu]->remove_pause(hv::kPauseMonitor);
    }
    if (!m_queue.empty())
        return;
    for (uint32_t v : m_blocking.wake(m_channel->ring_free()))
        m_runners[v]->remove_pause(hv::kPauseMonitor);
}

void MonitorService::apply_intercepts_locked()
{
    hv::Intercepts intercepts { m_config.breakpoint, m_config.cr_writes, m_config.descriptor, m_config.msrs };
    for (uint32_t id = 0; id < m_runners.size(); ++id) {
        bool was = m_vcpus[id].singlestep;
        m_vcpus[id].singlestep = m_config.singlestep;
        m_runners[id]->post([intercepts, on = m_config.singlestep, was](hv::Vcpu& v) {
            if (auto r = v.set_intercepts(intercepts); !r && intercepts != hv::Intercepts {})
                log::get("vmevent")->warn("vcpu {}: intercepts: {}", v.id(), r.error().message);
            if (on != was)
                (void)v.set_single_step(on);
        });
    }
}

void MonitorService::release_all_locked()
{
    bool had_intercepts = hv::Intercepts { m_config.breakpoint, m_config.cr_writes, m_config.descriptor, m_config.msrs } !=
                          hv::Intercepts {};
    for (uint32_t id = 0; id < m_runners.size(); ++id) {
        VcpuState st = m_vcpus[id];
        bool parked = st.awaiting || st.queued || m_blocking.blocked(id);
        m_runners[id]->post([had_intercepts, st](hv::Vcpu& v) {
            if (had_intercepts)
                (void)v.set_intercepts({});
            if (st.singlestep)
                (void)v.set_single_step(false);
            if (st.intercept && (st.awaiting || st.queued))
                (void)v.finish_intercept(hv::InterceptFinish::Retry);
        });
        if (parked)
            m_runners[id]->remove_pause(hv::kPauseMonitor);
    }
    // Lift page limits a run of consecutive pages at a time. A run that is no longer all RAM (the
    // guest ballooned) keeps no limits where it is not RAM, so forgetting the run is right either way.
    while (!m_limited.empty()) {
        uint64_t first = m_limited.begin()->first, next = first;
        for (auto it = m_limited.begin(); it != m_limited.end() && it->first == next; ++it)
            ++next;
        if (auto r = limit_ram(first, next - first, hv::kAccessAll); !r)
            log::get("vmevent")->error("lifting page limits {:#x}+{}: {}", first, next - first, r.error().message);
        m_limited.erase(m_limited.begin(), m_limited.lower_bound(next));
    }
    m_queue.clear();
    m_config = {};
    m_vcpus.assign(m_runners.size(), {});
    m_blocking = RingBlocking(static_cast<uint32_t>(m_runners.size()));
    m_channel.reset();
}

} // namespace xkvm::vmm

// The machine's vCPUs: creating them with one TSC offset (and checking that the host honours it),
// starting their runners, affinity, and the guest's view of which vCPUs are up.
#include "vmm/machine.h"

#include <fstream>
#include <x86intrin.h>

#include "base/log.h"
#include "numa/binding.h"
#include "vmm/cpuid_setup.h"
#include "vmm/vcpu_exits.h"

namespace xkvm::vmm {

namespace {

constexpr uint32_t kMsrTsc = 0x10;
// How long VCPUOP_is_up waits for an AP to look at its own state (it is kicked; a paused one cannot).
constexpr auto kVcpuAskTimeout = std::chrono::milliseconds(50);
// vCPUs whose TSCs differ by more than this (about 4 us at 2.5 GHz) do not share one clock.
constexpr uint64_t kTscAgreeTicks = 10000;
constexpr int kTscSamples = 16;

// How far apart two TSC readings are. A reading a few ticks before host_tsc0 is "negative": the
// difference is taken modulo 2^64, so such a pair is near, not 2^64 apart.
uint64_t tsc_distance(uint64_t a, uint64_t b)
{
    const int64_t d = static_cast<int64_t>(a - b);
    return d < 0 ? static_cast<uint64_t>(-d) : static_cast<uint64_t>(d);
}

// What a vCPU's TSC read at host TSC `host_tsc0`. Each sample brackets the read between two host
// TSC reads; a busy host can preempt this thread inside a bracket, so the tightest of several counts.
Result<uint64_t> guest_tsc_at(hv::Vcpu& vcpu, uint64_t host_tsc0)
{
    uint64_t best_width = UINT64_MAX, best = 0;
    for (int i = 0; i < kTscSamples && best_width > kTscAgreeTicks / 4; ++i) {
        uint64_t before = __rdtsc();
        uint64_t guest = TRY(vcpu.get_msr(kMsrTsc));
        uint64_t after = __rdtsc();
        if (after - before < best_width) {
            best_width = after - before;
            best = guest - ((before + after) / 2 - host_tsc0);
        }
    }
    return best;
}

// An invariant TSC lets one PV clock record stay right forever.
bool host_tsc_invariant()
{
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line))
        if (line.rfind("flags", 0) == 0)
            return line.find(" constant_tsc") != std::string::npos && line.find(" nonstop_tsc") != std::string::npos;
    return false;
}

} // namespace

Status Machine::create_vcpus()
{
    m_vcpu_up = std::vector<std::atomic<bool>>(m_spec.max_vcpus);
    m_vcpu_down = std::vector<std::atomic<bool>>(m_spec.max_vcpus);
    m_entries.assign(m_spec.max_vcpus, 0);
    // One offset for every vCPU: the guest TSC reads 0 at m_host_tsc0 on all of them.
    m_host_tsc0 = __rdtsc();
    uint64_t offset = 0 - m_host_tsc0;
    bool offset_set = true;
    uint32_t tsc_khz = 0;
    for (uint32_t id = 0; id < m_spec.max_vcpus; ++id) {
        auto vcpu = TRY(m_vm->create_vcpu(id));
        if (id == 0)
            tsc_khz = TRY(vcpu->tsc_khz());
        offset_set &= TRY(vcpu->set_tsc_offset(offset));
        TRY(vcpu->set_cpuid(build_cpuid(m_hv->supported_cpuid(), m_spec, id, tsc_khz)));
        m_exits.push_back(std::make_unique<VcpuExits>(*this, id));
        m_vcpus.push_back(std::move(vcpu));
    }
    // What the guest's TSC reads at system time 0, measured rather than assumed: some hosts (nested
    // KVM among them) accept the offset and ignore it, and the guest then sees the host's TSC.
    bool tsc_agree = true;
    for (uint32_t id = 0; id < m_spec.max_vcpus; ++id) {
        uint64_t at_boot = TRY(guest_tsc_at(*m_vcpus[id], m_host_tsc0));
        if (id == 0)
            m_guest_tsc0 = at_boot;
        else if (tsc_distance(at_boot, m_guest_tsc0) > kTscAgreeTicks)
            tsc_agree = false;
    }
    m_clock = xen::clock_params_for(tsc_khz, host_tsc_invariant() && offset_set && tsc_agree);
    if (!offset_set || !tsc_agree)
        log::get("vmm")->warn("{}: the vCPUs' TSCs cannot be made to agree here; the PV clock is not marked stable",
                       m_spec.name);
    m_vcpu_up[0] = true;
    return {};
}

Status Machine::start_vcpus()
{
    // Everything starts paused by the toolstack. Secondary vCPUs also sit in the backend's
    // wait-for-SIPI state until the guest starts them (INIT-SIPI through the LAPIC, or VCPUOP_up).
    for (uint32_t id = 0; id < m_spec.max_vcpus; ++id)
        m_runners.push_back(std::make_unique<hv::VcpuRunner>(*m_vcpus[id], *m_exits[id], hv::kPauseController));
    for (auto& r : m_runners)
        r->start();
    for (uint32_t id = 0; id < m_runners.size(); ++id)
        TRY(apply_vcpu_affinity(id));
    return {};
}

Status Machine::apply_vcpu_affinity(uint32_t vcpu)
{
    if (vcpu >= m_spec.vcpu_affinity.size() || m_spec.vcpu_affinity[vcpu].empty())
        return {};
    return numa::pin_thread(m_runners[vcpu]->tid(), numa::CpuSet::from_ids(m_spec.vcpu_affinity[vcpu]));
}

Status Machine::set_vcpu_affinity(uint32_t vcpu, const std::vector<uint32_t>& cpus)
{
    if (vcpu >= m_runners.size())
        return fail(EINVAL, "vcpu {} does not exist", vcpu);
    if (m_spec.vcpu_affinity.size() < m_runners.size())
        m_spec.vcpu_affinity.resize(m_runners.size());
    m_spec.vcpu_affinity[vcpu] = cpus;
    if (cpus.empty())
        return {};
    return apply_vcpu_affinity(vcpu);
}

void Machine::kick_vcpu(uint32_t vcpu)
{
    if (vcpu >= m_runners.size())
        return;
    // A vCPU parked while blocked with interrupts off looks at its state again once unparked.
    m_runners[vcpu]->remove_pause(hv::kPauseBlocked);
    m_runners[vcpu]->kick();
}

Status Machine::vcpu_initialise(uint32_t vcpu, const x86::CpuState& state)
{
    if (vcpu >= m_runners.size())
        return fail(EINVAL, "vcpu {} does not exist", vcpu);
    m_runners[vcpu]->post([state](hv::Vcpu& v) {
        if (auto r = v.set_cpu_state(state); !r)
            log::get("vmm")->error("{}", r.error().message);
    });
    return {};
}

Status Machine::vcpu_up(uint32_t vcpu)
{
    if (vcpu >= m_runners.size())
        return fail(EINVAL, "vcpu {} does not exist", vcpu);
    m_vcpu_down[vcpu] = false;
    if (!m_vcpu_up[vcpu].exchange(true))
        m_runners[vcpu]->post([](hv::Vcpu& v) {
            if (auto r = v.set_mp_state(hv::MpState::Runnable); !r)
                log::get("vmm")->error("{}", r.error().message);
        });
    m_runners[vcpu]->remove_pause(hv::kPauseDown);
    return {};
}

Status Machine::vcpu_down(uint32_t vcpu)
{
    if (vcpu >= m_runners.size())
        return fail(EINVAL, "vcpu {} does not exist", vcpu);
    m_vcpu_down[vcpu] = true;
    m_vcpu_up[vcpu] = false;
    m_runners[vcpu]->add_pause(hv::kPauseDown);
    return {};
}

bool Machine::vcpu_is_up(uint32_t vcpu) const
{
    if (vcpu >= m_vcpu_up.size())
        return false;
    if (m_vcpu_up[vcpu] || m_vcpu_down[vcpu])
        return m_vcpu_up[vcpu];
    // Waiting for a SIPI inside the backend, or started by one already: make it look at its state once.
    std::unique_lock lock(m_entry_lock);
    uint64_t seen = m_entries[vcpu];
    m_runners[vcpu]->kick();
    m_entry_cv.wait_for(lock, kVcpuAskTimeout, [&] { return m_entries[vcpu] != seen; });
    return m_vcpu_up[vcpu];
}

void Machine::vcpu_entering(uint32_t vcpu, hv::Vcpu& v)
{
    if (!m_vcpu_up[vcpu] && !m_vcpu_down[vcpu]) {
        auto mp = v.mp_state();
        if (mp && *mp != hv::MpState::WaitForSipi)
            m_vcpu_up[vcpu] = true;
        std::lock_guard guard(m_entry_lock);
        ++m_entries[vcpu];
        m_entry_cv.notify_all();
    }
}

} // namespace xkvm::vmm

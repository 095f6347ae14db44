#include "emu/emu_vcpu.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <x86intrin.h>

#include "emu/emu_hypervisor.h"
#include "emu/emu_vm.h"

namespace xkvm::emu {

namespace {

// Instructions per slice of Cpu::run(): between slices the LAPIC timer and pending work are looked
// at, so a slice bounds timer latency (about 0.1-1 ms) without costing measurable speed.
constexpr uint64_t kSliceInstructions = 1u << 16;
constexpr uint32_t kMsrTsc = 0x10;

uint64_t monotonic_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t little_endian(const uint8_t* data, unsigned size)
{
    uint64_t v = 0;
    std::memcpy(&v, data, std::min(size, 8u));
    return v;
}

} // namespace

EmuVcpu::EmuVcpu(EmuVm& vm, uint32_t id) : m_vm(vm), m_id(id), m_lapic(id, id == 0, *this), m_cpu(*this)
{
    if (id != 0)
        m_cpu.init_reset(); // APs wait for SIPI (or VCPUOP_up)
}

EmuVcpu::~EmuVcpu()
{
    m_vm.vcpu_gone(this);
}

void EmuVcpu::complete_previous_exit()
{
    using Kind = hv::Exit::Kind;
    switch (m_exit.kind) {
    case Kind::PortIo:
        if (!m_exit.io.write)
            m_cpu.complete_read(little_endian(m_data, m_exit.io.size));
        break;
    case Kind::Mmio:
        if (!m_exit.mmio.write)
            m_cpu.complete_read(little_endian(m_data, m_exit.mmio.size));
        break;
    case Kind::MsrRead:
    case Kind::MsrWrite:
        m_cpu.complete_msr(m_exit.msr.value, m_exit.msr.fault);
        break;
    default:
        break;
    }
    m_exit.kind = Kind::Interrupted;
}

void EmuVcpu::take_lapic_events()
{
    if (m_lapic.take_init())
        m_cpu.init_reset();
    if (auto sipi = m_lapic.take_sipi(); sipi && m_cpu.state().run_state == RunState::WaitForSipi)
        m_cpu.start_at_sipi(*sipi);
    if (m_lapic.take_nmi())
        m_cpu.deliver_nmi();
}

bool EmuVcpu::maskable_interrupt_ready()
{
    return m_direct_vector.load() >= 0 || m_lapic.interrupt_pending()
        || (m_lapic.accepts_pic_interrupts() && m_vm.pic().output());
}

bool EmuVcpu::must_wait()
{
    const EmuState& st = m_cpu.state();
    if (st.run_state == RunState::WaitForSipi)
        return true;
    return st.run_state == RunState::Halted && !((st.rflags & x86::kRflagsIf) && maskable_interrupt_ready());
}

void EmuVcpu::wait_for_wakeup()
{
    std::unique_lock lock(m_wait_lock);
    auto woken = [&] { return m_woken || m_stop.load(); };
    if (auto deadline = m_lapic.next_deadline_ns()) {
        auto at = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(*deadline));
        m_wait_cv.wait_until(lock, at, woken);
    } else {
        m_wait_cv.wait(lock, woken);
    }
}

hv::Exit& EmuVcpu::run()
{
    complete_previous_exit();
    for (;;) {
        {
            // Cleared before the state is examined: a kick from now on ends the next wait.
            std::lock_guard guard(m_wait_lock);
            m_woken = false;
        }
        if (m_stop.load())
            return m_exit; // Interrupted
        if (m_tlb_flush.exchange(false))
            m_cpu.flush_tlb();
        take_lapic_events();
        m_lapic.update_timer(now_ns());
        if (must_wait()) {
            wait_for_wakeup();
            continue;
        }
        if (maskable_interrupt_ready())
            m_cpu.raise_attention();
        CpuExit e = m_cpu.run(kSliceInstructions);
        if (translate_exit(e))
            return m_exit;
    }
}

bool EmuVcpu::translate_exit(const CpuExit& e)
{
    using Kind = hv::Exit::Kind;
    switch (e.kind) {
    case CpuExit::Kind::Budget:
    case CpuExit::Kind::Halt:
        return false;
    case CpuExit::Kind::PortIn:
    case CpuExit::Kind::PortOut:
        std::memcpy(m_data, &e.value, sizeof(m_data));
        m_exit.kind = Kind::PortIo;
        m_exit.io = { e.port, e.size, e.kind == CpuExit::Kind::PortOut, 1, m_data };
        return true;
    case CpuExit::Kind::MmioRead:
    case CpuExit::Kind::MmioWrite:
        std::memcpy(m_data, &e.value, sizeof(m_data));
        m_exit.kind = Kind::Mmio;
        m_exit.mmio = { e.gpa, e.size, e.kind == CpuExit::Kind::MmioWrite, m_data };
        return true;
    case CpuExit::Kind::MsrRead:
    case CpuExit::Kind::MsrWrite:
        m_exit.kind = e.kind == CpuExit::Kind::MsrRead ? Kind::MsrRead : Kind::MsrWrite;
        m_exit.msr = { e.msr, e.value, true };
        return true;
    case CpuExit::Kind::Hypercall: m_exit.kind = Kind::Hypercall; return true;
    case CpuExit::Kind::TripleFault: m_exit.kind = Kind::TripleFault; return true;
    case CpuExit::Kind::Debug: m_exit.kind = Kind::Debug; return true;
    case CpuExit::Kind::Introspect: translate_introspect(e); return true;
    }
    return false;
}

static_assert(int(hv::kAccessRead) == kPageRead && int(hv::kAccessWrite) == kPageWrite && int(hv::kAccessExec) == kPageExec);

void EmuVcpu::translate_introspect(const CpuExit& e)
{
    using What = CpuExit::Introspect::What;
    const CpuExit::Introspect& x = e.introspect;
    hv::IntrospectExit& out = m_exit.introspect;
    out = {};
    out.insn_len = x.insn_len;
    switch (x.what) {
    case What::MemAccess:
        out.what = hv::IntrospectExit::What::MemAccess;
        out.gpa = e.gpa;
        out.gla = x.lin;
        out.gla_valid = x.lin_valid;
        out.in_walk = x.in_walk;
        out.access = x.access;
        break;
    case What::Breakpoint: out.what = hv::IntrospectExit::What::Breakpoint; break;
    case What::CrWrite:
    case What::MsrWrite:
        out.what = x.what == What::CrWrite ? hv::IntrospectExit::What::CrWrite : hv::IntrospectExit::What::MsrWrite;
        out.index = x.index;
        out.old_value = x.old_value;
        out.new_value = x.new_value;
        break;
    case What::Descriptor:
        out.what = hv::IntrospectExit::What::Descriptor;
        out.table = static_cast<hv::IntrospectExit::Table>(x.table);
        out.table_write = x.table_write;
        break;
    }
    m_exit.kind = hv::Exit::Kind::Introspect;
}

Status EmuVcpu::set_intercepts(const hv::Intercepts& intercepts)
{
    constexpr uint8_t kCrs = (1u << 0) | (1u << 3) | (1u << 4);
    if (intercepts.cr_writes & ~kCrs)
        return fail(EINVAL, "CR write intercepts {:#x}: only CR0, CR3 and CR4 can be intercepted", intercepts.cr_writes);
    CpuIntercepts cpu;
    cpu.breakpoints = intercepts.breakpoints;
    cpu.cr_writes = intercepts.cr_writes;
    cpu.descriptors = intercepts.descriptor_access;
    cpu.msr_writes = intercepts.msr_writes;
    std::sort(cpu.msr_writes.begin(), cpu.msr_writes.end()); // the CPU searches them
    m_cpu.set_intercepts(std::move(cpu));
    return {};
}

Status EmuVcpu::finish_intercept(hv::InterceptFinish how)
{
    InterceptFinish f = how == hv::InterceptFinish::Execute ? InterceptFinish::Execute
                      : how == hv::InterceptFinish::Skip    ? InterceptFinish::Skip
                                                            : InterceptFinish::Retry;
    if (m_exit.kind != hv::Exit::Kind::Introspect || !m_cpu.finish_intercept(f))
        return fail(EINVAL, "no intercepted instruction to finish (once, after an Introspect exit)");
    return {};
}

Result<uint64_t> EmuVcpu::translate(uint64_t linear)
{
    if (auto gpa = m_cpu.translate(linear))
        return *gpa;
    return fail(EFAULT, "vcpu {}: {:#x} does not translate", m_id, linear);
}

void EmuVcpu::request_immediate_exit()
{
    m_stop.store(true);
    m_cpu.request_stop();
    kick();
}

void EmuVcpu::request_tlb_flush()
{
    m_tlb_flush.store(true);
    m_cpu.request_stop();
}

Result<bool> EmuVcpu::try_inject_interrupt(uint8_t vector)
{
    const EmuState& st = m_cpu.state();
    if (!(st.rflags & x86::kRflagsIf) || st.interrupt_shadow || m_direct_vector.load() >= 0)
        return false;
    m_direct_vector.store(vector);
    if (m_cpu.state().run_state == RunState::Halted)
        m_cpu.state().run_state = RunState::Running;
    m_cpu.raise_attention();
    return true;
}

uint64_t EmuVcpu::tsc()
{
    return __rdtsc() + static_cast<uint64_t>(m_tsc_offset.load());
}

Result<uint32_t> EmuVcpu::tsc_khz()
{
    return host_tsc_khz();
}

Result<bool> EmuVcpu::set_tsc_offset(uint64_t offset)
{
    m_tsc_offset.store(static_cast<int64_t>(offset));
    return true;
}

Result<uint64_t> EmuVcpu::get_msr(uint32_t index)
{
    if (index == kMsrTsc)
        return tsc();
    uint64_t value = 0;
    if (local_msr(index, value, false) == MsrResult::Ok)
        return value;
    return fail(EINVAL, "MSR {:#x} cannot be read from outside the emulated CPU", index);
}

Status EmuVcpu::set_msrs(std::span<const std::pair<uint32_t, uint64_t>> msrs)
{
    for (auto [index, value] : msrs) {
        if (index == kMsrTsc) {
            m_tsc_offset.store(static_cast<int64_t>(value - __rdtsc()));
            continue;
        }
        if (local_msr(index, value, true) != MsrResult::Ok)
            return fail(EINVAL, "MSR {:#x} cannot be written from outside the emulated CPU", index);
    }
    return {};
}

Status EmuVcpu::set_cpuid(const hv::CpuidTable& table)
{
    m_cpuid = table;
    return {};
}

Status EmuVcpu::set_single_step(bool on)
{
    m_cpu.set_single_step(on);
    return {};
}

uint64_t EmuVcpu::now_ns()
{
    return monotonic_ns();
}

uint64_t EmuVcpu::tsc_to_ns(uint64_t guest_tsc)
{
    // Guest TSC -> host TSC -> host monotonic ns, relative to now.
    uint64_t now_tsc = tsc();
    uint64_t now = monotonic_ns();
    uint64_t khz = host_tsc_khz();
    if (guest_tsc <= now_tsc)
        return now;
    unsigned __int128 delta_ns = static_cast<unsigned __int128>(guest_tsc - now_tsc) * 1000000 / khz;
    return delta_ns > UINT64_MAX - now ? UINT64_MAX : now + static_cast<uint64_t>(delta_ns);
}

void EmuVcpu::kick()
{
    {
        std::lock_guard guard(m_wait_lock);
        m_woken = true;
    }
    m_wait_cv.notify_all();
    m_cpu.raise_attention();
}

} // namespace xkvm::emu

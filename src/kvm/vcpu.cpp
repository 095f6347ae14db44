#include "kvm/vcpu.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <vector>

#include "kvm/uapi_fix.h"
#include "kvm/vm.h"

namespace xkvm::kvm {

namespace {

Status check(int r, const char* what, uint32_t id)
{
    if (r < 0)
        return make_unexpected(Error::from_errno(fmt::format("{} (vcpu {})", what, id)));
    return {};
}

x86::Segment from_kvm(const kvm_segment& s)
{
    return x86::Segment { s.base, s.limit, s.selector, s.type, s.present != 0, s.dpl, s.db != 0, s.s != 0,
                          s.l != 0, s.g != 0, s.avl != 0, s.unusable != 0 };
}

kvm_segment to_kvm(const x86::Segment& s)
{
    kvm_segment k {};
    k.base = s.base;
    k.limit = s.limit;
    k.selector = s.selector;
    k.type = s.type;
    k.present = s.present;
    k.dpl = s.dpl;
    k.db = s.db;
    k.s = s.s;
    k.l = s.l;
    k.g = s.g;
    k.avl = s.avl;
    k.unusable = s.unusable;
    return k;
}

// The signal the run gate kicks vCPUs out of KVM_RUN with: an empty handler, no SA_RESTART.
int gate_signal()
{
    static const int sig = [] {
        int s = SIGRTMIN + 4;
        struct sigaction sa {};
        sa.sa_handler = [](int) { };
        sigemptyset(&sa.sa_mask);
        sigaction(s, &sa, nullptr);
        return s;
    }();
    return sig;
}

} // namespace

Result<std::unique_ptr<Vcpu>> Vcpu::create(Vm& vm, uint32_t id, UniqueFd fd)
{
    size_t size = static_cast<size_t>(vm.system().vcpu_mmap_size());
    void* run = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (run == MAP_FAILED)
        return make_unexpected(Error::from_errno(fmt::format("mmap kvm_run of vcpu {}", id)));
    std::unique_ptr<Vcpu> vcpu(new Vcpu(vm, id, std::move(fd), static_cast<kvm_run*>(run), size));
    int kinds = vm.system().check_extension(KVM_CAP_SYNC_REGS);
    if (kinds > 0 && !std::getenv("XKVM_NO_SYNC_REGS")) {
        vcpu->m_sync_kinds = static_cast<uint32_t>(kinds) & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
        vcpu->m_run->kvm_valid_regs = vcpu->m_sync_kinds;
    }
    int sig = gate_signal();
    Vcpu* self = vcpu.get();
    vcpu->m_kick = [self, sig] {
        self->m_gate_kicked = true;
        self->request_immediate_exit(); // in case it has not reached KVM_RUN yet
        pthread_kill(self->m_thread, sig);
    };
    return vcpu;
}

Vcpu::~Vcpu()
{
    m_vm.vcpu_gone(this);
    ::munmap(m_run, m_run_size);
}

Status Vcpu::flush()
{
    if (m_synced) {
        // Hand the writes to KVM through kvm_run, keeping a copy in case the run never applies them.
        if (m_regs_dirty && (m_sync_kinds & KVM_SYNC_X86_REGS)) {
            m_regs = m_run->s.regs.regs;
            m_run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
            m_regs_dirty = false;
        }
        if (m_sregs_dirty && (m_sync_kinds & KVM_SYNC_X86_SREGS)) {
            m_sregs = m_run->s.regs.sregs;
            m_run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
            m_sregs_dirty = false;
        }
    }
    if (m_regs_dirty) {
        TRY(check(::ioctl(m_fd.get(), KVM_SET_REGS, &m_regs), "KVM_SET_REGS", m_id));
        m_regs_dirty = false;
    }
    if (m_sregs_dirty) {
        TRY(check(::ioctl(m_fd.get(), KVM_SET_SREGS, &m_sregs), "KVM_SET_SREGS", m_id));
        m_sregs_dirty = false;
    }
    return {};
}

Status Vcpu::recover_unsynced()
{
    // A run that ended before KVM read kvm_dirty_regs (an immediate exit) leaves the bits set and
    // kvm_run refilled from the vCPU: apply the saved writes directly.
    if (m_run->kvm_dirty_regs & KVM_SYNC_X86_REGS) {
        TRY(check(::ioctl(m_fd.get(), KVM_SET_REGS, &m_regs), "KVM_SET_REGS", m_id));
        m_run->s.regs.regs = m_regs;
        m_run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
    }
    if (m_run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
        TRY(check(::ioctl(m_fd.get(), KVM_SET_SREGS, &m_sregs), "KVM_SET_SREGS", m_id));
        m_run->s.regs.sregs = m_sregs;
        m_run->kvm_dirty_regs &= ~KVM_SYNC_X86_SREGS;
    }
    return {};
}

Result<uint32_t> Vcpu::run_once()
{
    TRY(flush());
    invalidate();
    m_thread = pthread_self();
    m_vm.run_gate().enter(&m_kick);
    int r = ::ioctl(m_fd.get(), KVM_RUN, 0);
    int saved_errno = errno;
    m_vm.run_gate().leave(&m_kick);
    // The gate's immediate exit is not the caller's to clear; whatever this run returns, a
    // runner looks at its own state again before the next one, so no kick of its is lost.
    if (m_gate_kicked.exchange(false))
        clear_immediate_exit();
    if (m_sync_kinds) {
        m_synced = true;
        TRY(recover_unsynced());
    }
    if (r < 0) {
        if (saved_errno == EINTR || saved_errno == EAGAIN)
            return static_cast<uint32_t>(KVM_EXIT_INTR);
        return make_unexpected(Error::from_errno(fmt::format("KVM_RUN (vcpu {})", m_id), saved_errno));
    }
    return m_run->exit_reason;
}

Result<kvm_regs*> Vcpu::raw_regs()
{
    if (synced(KVM_SYNC_X86_REGS))
        return &m_run->s.regs.regs;
    if (!m_regs_valid) {
        TRY(check(::ioctl(m_fd.get(), KVM_GET_REGS, &m_regs), "KVM_GET_REGS", m_id));
        m_regs_valid = true;
    }
    return &m_regs;
}

Result<kvm_sregs*> Vcpu::raw_sregs()
{
    if (synced(KVM_SYNC_X86_SREGS))
        return &m_run->s.regs.sregs;
    if (!m_sregs_valid) {
        TRY(check(::ioctl(m_fd.get(), KVM_GET_SREGS, &m_sregs), "KVM_GET_SREGS", m_id));
        m_sregs_valid = true;
    }
    return &m_sregs;
}

Result<x86::PagingMode> Vcpu::paging_mode()
{
    kvm_sregs* s = TRY(raw_sregs());
    x86::PagingMode mode;
    mode.cr0 = s->cr0;
    mode.cr3 = s->cr3;
    mode.cr4 = s->cr4;
    mode.efer = s->efer;
    mode.cpl = s->ss.dpl;
    mode.cs_long = s->cs.l != 0;
    return mode;
}

Result<x86::CpuState> Vcpu::cpu_state()
{
    kvm_regs* r = TRY(raw_regs());
    kvm_sregs* s = TRY(raw_sregs());
    x86::CpuState st;
    uint64_t gprs[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                          r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
    std::memcpy(st.gpr, gprs, sizeof(gprs));
    st.rip = r->rip;
    st.rflags = r->rflags;
    st.cs = from_kvm(s->cs);
    st.ds = from_kvm(s->ds);
    st.es = from_kvm(s->es);
    st.fs = from_kvm(s->fs);
    st.gs = from_kvm(s->gs);
    st.ss = from_kvm(s->ss);
    st.tr = from_kvm(s->tr);
    st.ldt = from_kvm(s->ldt);
    st.gdt = { s->gdt.base, s->gdt.limit };
    st.idt = { s->idt.base, s->idt.limit };
    st.cr0 = s->cr0;
    st.cr2 = s->cr2;
    st.cr3 = s->cr3;
    st.cr4 = s->cr4;
    st.efer = s->efer;
    return st;
}

Status Vcpu::set_cpu_state(const x86::CpuState& st)
{
    kvm_regs* r = TRY(raw_regs());
    kvm_sregs* s = TRY(raw_sregs());
    __u64* out[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
                          &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
    for (int i = 0; i < 16; ++i)
        *out[i] = st.gpr[i];
    r->rip = st.rip;
    r->rflags = st.rflags;
    s->cs = to_kvm(st.cs);
    s->ds = to_kvm(st.ds);
    s->es = to_kvm(st.es);
    s->fs = to_kvm(st.fs);
    s->gs = to_kvm(st.gs);
    s->ss = to_kvm(st.ss);
    s->tr = to_kvm(st.tr);
    s->ldt = to_kvm(st.ldt);
    s->gdt.base = st.gdt.base;
    s->gdt.limit = st.gdt.limit;
    s->idt.base = st.idt.base;
    s->idt.limit = st.idt.limit;
    s->cr0 = st.cr0;
    s->cr2 = st.cr2;
    s->cr3 = st.cr3;
    s->cr4 = st.cr4;
    s->efer = st.efer;
    m_regs_dirty = true;
    m_sregs_dirty = true;
    return {};
}

Result<kvm_vcpu_events> Vcpu::events()
{
    kvm_vcpu_events ev {};
    TRY(check(::ioctl(m_fd.get(), KVM_GET_VCPU_EVENTS, &ev), "KVM_GET_VCPU_EVENTS", m_id));
    return ev;
}

Status Vcpu::set_events(const kvm_vcpu_events& ev)
{
    return check(::ioctl(m_fd.get(), KVM_SET_VCPU_EVENTS, &ev), "KVM_SET_VCPU_EVENTS", m_id);
}

Result<hv::MpState> Vcpu::mp_state()
{
    kvm_mp_state st {};
    TRY(check(::ioctl(m_fd.get(), KVM_GET_MP_STATE, &st), "KVM_GET_MP_STATE", m_id));
    switch (st.mp_state) {
    case KVM_MP_STATE_HALTED: return hv::MpState::Halted;
    case KVM_MP_STATE_UNINITIALIZED:
    case KVM_MP_STATE_INIT_RECEIVED: return hv::MpState::WaitForSipi;
    default: return hv::MpState::Runnable;
    }
}

Status Vcpu::set_mp_state(hv::MpState state)
{
    kvm_mp_state st { KVM_MP_STATE_RUNNABLE };
    if (state == hv::MpState::Halted)
        st.mp_state = KVM_MP_STATE_HALTED;
    else if (state == hv::MpState::WaitForSipi)
        st.mp_state = KVM_MP_STATE_INIT_RECEIVED;
    return check(::ioctl(m_fd.get(), KVM_SET_MP_STATE, &st), "KVM_SET_MP_STATE", m_id);
}

Result<uint64_t> Vcpu::get_msr(uint32_t index)
{
    uapi::MsrsBuffer buf(1);
    buf.header()->nmsrs = 1;
    buf.entries()[0].index = index;
    int r = ::ioctl(m_fd.get(), uapi::kGetMsrs, buf.data());
    if (r != 1)
        return fail(EINVAL, "KVM_GET_MSRS {:#x} (vcpu {}) failed", index, m_id);
    return buf.entries()[0].data;
}

Status Vcpu::set_msrs(std::span<const std::pair<uint32_t, uint64_t>> msrs)
{
    uapi::MsrsBuffer buf(msrs.size());
    buf.header()->nmsrs = static_cast<uint32_t>(msrs.size());
    for (size_t i = 0; i < msrs.size(); ++i) {
        buf.entries()[i].index = msrs[i].first;
        buf.entries()[i].data = msrs[i].second;
    }
    int r = ::ioctl(m_fd.get(), uapi::kSetMsrs, buf.data());
    if (r != static_cast<int>(msrs.size()))
        return fail(EINVAL, "KVM_SET_MSRS (vcpu {}) set {} of {}", m_id, r, msrs.size());
    return {};
}

Status Vcpu::set_cpuid(const hv::CpuidTable& table)
{
    const auto& entries = table.entries();
    uapi::CpuidBuffer buf(entries.size());
    buf.header()->nent = static_cast<uint32_t>(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
        const hv::CpuidEntry& e = entries[i];
        kvm_cpuid_entry2 k {};
        k.function = e.function;
        k.index = e.index;
        k.flags = e.significant_index ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
        k.eax = e.regs.eax;
        k.ebx = e.regs.ebx;
        k.ecx = e.regs.ecx;
        k.edx = e.regs.edx;
        buf.entries()[i] = k;
    }
    return check(::ioctl(m_fd.get(), uapi::kSetCpuid2, buf.data()), "KVM_SET_CPUID2", m_id);
}

Status Vcpu::set_single_step(bool on)
{
    m_single_step = on;
    return apply_guest_debug();
}

Status Vcpu::apply_guest_debug()
{
    kvm_guest_debug dbg {};
    dbg.control = guest_debug_control(m_single_step, m_intercepts.breakpoints);
    return check(::ioctl(m_fd.get(), KVM_SET_GUEST_DEBUG, &dbg), "KVM_SET_GUEST_DEBUG", m_id);
}

Result<bool> Vcpu::set_tsc_offset(uint64_t offset)
{
    kvm_device_attr attr {};
    attr.group = KVM_VCPU_TSC_CTRL;
    attr.attr = KVM_VCPU_TSC_OFFSET;
    attr.addr = reinterpret_cast<uint64_t>(&offset);
    if (::ioctl(m_fd.get(), KVM_HAS_DEVICE_ATTR, &attr) < 0)
        return false;
    TRY(check(::ioctl(m_fd.get(), KVM_SET_DEVICE_ATTR, &attr), "KVM_SET_DEVICE_ATTR(TSC offset)", m_id));
    return true;
}

Result<uint32_t> Vcpu::tsc_khz()
{
    int r = ::ioctl(m_fd.get(), KVM_GET_TSC_KHZ, 0);
    if (r < 0)
        return make_unexpected(Error::from_errno(fmt::format("KVM_GET_TSC_KHZ (vcpu {})", m_id)));
    return static_cast<uint32_t>(r);
}

} // namespace xkvm::kvm

#include "vmevent/event_codec.h"

#include <cstring>

namespace xkvm::vmevent {

namespace {

// Xen's selector-register word: limit in bits 0-19 (in pages when granular), attributes above.
uint32_t selector_word(const x86::Segment& s)
{
    uint32_t limit = s.g ? s.limit >> 12 : s.limit;
    uint32_t ar = s.type | (s.s ? 1u << 4 : 0) | (uint32_t { s.dpl } << 5) | (s.present ? 1u << 7 : 0) |
                  (s.avl ? 1u << 8 : 0) | (s.l ? 1u << 9 : 0) | (s.db ? 1u << 10 : 0) | (s.g ? 1u << 11 : 0);
    return (limit & 0xfffff) | (ar << 20);
}

} // namespace

Event make_request(uint32_t reason, uint32_t vcpu, const x86::CpuState& st)
{
    Event e;
    std::memset(&e, 0, sizeof(e));
    e.version = kInterfaceVersion;
    e.reason = reason;
    e.vcpu_id = vcpu;
    RegsX86& r = e.regs.x86;
    using enum x86::Gpr;
    r.rax = st.gpr[Rax], r.rcx = st.gpr[Rcx], r.rdx = st.gpr[Rdx], r.rbx = st.gpr[Rbx];
    r.rsp = st.gpr[Rsp], r.rbp = st.gpr[Rbp], r.rsi = st.gpr[Rsi], r.rdi = st.gpr[Rdi];
    r.r8 = st.gpr[R8], r.r9 = st.gpr[R9], r.r10 = st.gpr[R10], r.r11 = st.gpr[R11];
    r.r12 = st.gpr[R12], r.r13 = st.gpr[R13], r.r14 = st.gpr[R14], r.r15 = st.gpr[R15];
    r.rflags = st.rflags;
    r.rip = st.rip;
    r.cr0 = st.cr0, r.cr2 = st.cr2, r.cr3 = st.cr3, r.cr4 = st.cr4;
    r.msr_efer = st.efer;
    r.gdtr_base = st.gdt.base;
    r.gdtr_limit = st.gdt.limit;
    r.cs_base = static_cast<uint32_t>(st.cs.base), r.ss_base = static_cast<uint32_t>(st.ss.base);
    r.ds_base = static_cast<uint32_t>(st.ds.base), r.es_base = static_cast<uint32_t>(st.es.base);
    r.fs_base = st.fs.base, r.gs_base = st.gs.base;
    r.cs = selector_word(st.cs), r.ss = selector_word(st.ss), r.ds = selector_word(st.ds);
    r.es = selector_word(st.es), r.fs = selector_word(st.fs), r.gs = selector_word(st.gs);
    r.cs_sel = st.cs.selector, r.ss_sel = st.ss.selector, r.ds_sel = st.ds.selector;
    r.es_sel = st.es.selector, r.fs_sel = st.fs.selector, r.gs_sel = st.gs.selector;
    return e;
}

x86::Regs regs_of(const RegsX86& r)
{
    x86::Regs out;
    using enum x86::Gpr;
    const uint64_t gprs[16] = { r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
                                r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15 };
    std::memcpy(out.gpr, gprs, sizeof(gprs));
    out.rip = r.rip;
    // Bit 1 of RFLAGS always reads as one; a monitor cannot clear it.
    out.rflags = r.rflags | x86::kRflagsReserved1;
    return out;
}

Result<ResponseAction> decode_response(const Event& rsp, uint32_t vcpus)
{
    if (rsp.version != kInterfaceVersion)
        return fail(EPROTO, "a vm_event response of interface version {} (not {})", rsp.version, kInterfaceVersion);
    if (rsp.vcpu_id >= vcpus)
        return fail(EPROTO, "a vm_event response for vcpu {} of {}", rsp.vcpu_id, vcpus);
    ResponseAction a;
    a.vcpu = rsp.vcpu_id;
    a.unpause = rsp.flags & kFlagVcpuPaused;
    a.toggle_singlestep = rsp.flags & kFlagToggleSinglestep;
    // Xen's order: a denied write is not emulated.
    if (rsp.flags & kFlagDeny)
        a.verdict = Verdict::Deny;
    else if (rsp.flags & (kFlagEmulate | kFlagEmulateNoWrite))
        a.verdict = Verdict::Emulate;
    if (rsp.flags & kFlagSetRegisters)
        a.regs = regs_of(rsp.regs.x86);
    return a;
}

} // namespace xkvm::vmevent

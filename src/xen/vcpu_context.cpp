#include "xen/vcpu_context.h"

#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

// The context's segment attributes use Xen's packed form: type[3:0] s[4] dpl[6:5] p[7] avl[8] l[9]
// db[10] g[11].
x86::Segment segment(uint32_t base, uint32_t limit, uint16_t ar, uint16_t selector)
{
    x86::Segment s;
    s.base = base;
    s.limit = limit;
    s.selector = selector;
    s.type = ar & 0xf;
    s.s = ar & (1 << 4);
    s.dpl = (ar >> 5) & 3;
    s.present = ar & (1 << 7);
    s.avl = ar & (1 << 8);
    s.l = ar & (1 << 9);
    s.db = ar & (1 << 10);
    s.g = ar & (1 << 11);
    s.unusable = !s.present;
    return s;
}

Status check_code(const x86::Segment& cs)
{
    if (!cs.present || !cs.s || !(cs.type & 0x8))
        return xen_fail(XEN_EINVAL, "CS is not a present code segment");
    return {};
}

Status check_data(const x86::Segment& s, const char* name)
{
    if (s.unusable)
        return {};
    if (!s.s || ((s.type & 0x8) && !(s.type & 0x2)))
        return xen_fail(XEN_EINVAL, "{} is not a readable data segment", name);
    return {};
}

Status check_cr3(uint64_t cr3, bool paging, const memory::Physmap& mem)
{
    if (paging && !mem.is_mapped(cr3 & ~0xfffull))
        return xen_fail(XEN_EINVAL, "CR3 {:#x} is not guest memory", cr3);
    return {};
}

} // namespace

Result<x86::CpuState> cpu_state_from_hvm_context(const vcpu_hvm_context& ctx, const memory::Physmap& mem)
{
    x86::CpuState st;
    switch (ctx.mode) {
    case VCPU_HVM_MODE_32B: {
        const auto& r = ctx.cpu_regs.x86_32;
        if (!(r.cr0 & x86::kCr0Pe))
            return xen_fail(XEN_EINVAL, "32-bit context without CR0.PE");
        if (r.efer & x86::kEferLme)
            return xen_fail(XEN_EINVAL, "32-bit context with EFER.LME");
        st = x86::flat_protected_mode_32(r.eip, r.ebx);
        uint64_t gprs[8] = { r.eax, r.ecx, r.edx, r.ebx, r.esp, r.ebp, r.esi, r.edi };
        for (int i = 0; i < 8; ++i)
            st.gpr[i] = gprs[i];
        st.rflags = r.eflags | x86::kRflagsReserved1;
        st.cr0 = r.cr0 | x86::kCr0Et;
        st.cr3 = r.cr3;
        st.cr4 = r.cr4;
        st.efer = r.efer;
        st.cs = segment(r.cs_base, r.cs_limit, r.cs_ar, 0x10);
        st.ds = segment(r.ds_base, r.ds_limit, r.ds_ar, 0x18);
        st.ss = segment(r.ss_base, r.ss_limit, r.ss_ar, 0x18);
        st.es = segment(r.es_base, r.es_limit, r.es_ar, 0x18);
        st.fs = st.gs = st.ds;
        if (r.tr_ar & (1 << 7))
            st.tr = segment(r.tr_base, r.tr_limit, r.tr_ar, 0x20);
        TRY(check_code(st.cs));
        TRY(check_data(st.ds, "DS"));
        TRY(check_data(st.ss, "SS"));
        TRY(check_data(st.es, "ES"));
        TRY(check_cr3(st.cr3, st.cr0 & x86::kCr0Pg, mem));
        return st;
    }
    case VCPU_HVM_MODE_64B: {
        const auto& r = ctx.cpu_regs.x86_64;
        // 64-bit mode implies paging, PAE and long mode.
        if (!(r.cr0 & x86::kCr0Pg) || !(r.cr0 & x86::kCr0Pe) || !(r.cr4 & x86::kCr4Pae) || !(r.efer & x86::kEferLme))
            return xen_fail(XEN_EINVAL, "64-bit context without paging, PAE and EFER.LME");
        st = x86::flat_long_mode_64();
        uint64_t gprs[8] = { r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi };
        for (int i = 0; i < 8; ++i)
            st.gpr[i] = gprs[i];
        st.rip = r.rip;
        st.rflags = r.rflags | x86::kRflagsReserved1;
        st.cr0 = r.cr0 | x86::kCr0Et;
        st.cr3 = r.cr3;
        st.cr4 = r.cr4;
        st.efer = r.efer | x86::kEferLma;
        TRY(check_cr3(st.cr3, true, mem));
        return st;
    }
    default:
        return xen_fail(XEN_EINVAL, "vcpu context mode {} unknown", ctx.mode);
    }
}

} // namespace xkvm::xen

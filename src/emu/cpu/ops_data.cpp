// Data movement: MOV forms, the stack, exchanges, flags transfer, segment-pointer loads.
#include "emu/cpu/alu.h"
#include "emu/cpu/atomic_rmw.h"
#include "emu/cpu/ops.h"

namespace xkvm::emu {

void op_mov(CpuImpl& c, const Insn& i)
{
    const Operand& d = i.op[0];
    const Operand& s = i.op[1];
    if (d.kind == OpKind::Cr || s.kind == OpKind::Cr) {
        op_mov_cr(c, i);
        return;
    }
    if (d.kind == OpKind::Dr || s.kind == OpKind::Dr) {
        op_mov_dr(c, i);
        return;
    }
    if (d.kind == OpKind::Seg) {
        if (d.reg > SegGs)
            c.fault(kUd);
        c.load_segment(d.reg, uint16_t(c.get(i, 1)));
        if (d.reg == SegSs)
            c.m_stop.set_shadow = true;
        return;
    }
    if (s.kind == OpKind::Seg && d.kind == OpKind::Gpr) {
        // A segment register into a 32/64-bit register zero-extends.
        c.set_reg(d.reg, d.size, c.st.seg[s.reg].selector);
        return;
    }
    c.set(i, 0, c.get(i, 1));
}

void op_movzx(CpuImpl& c, const Insn& i) { c.set(i, 0, c.get(i, 1)); }

void op_movsx(CpuImpl& c, const Insn& i) { c.set(i, 0, sign_extend(c.get(i, 1), i.op[1].size)); }

void op_lea(CpuImpl& c, const Insn& i) { c.set(i, 0, c.ea(i)); }

void op_push(CpuImpl& c, const Insn& i)
{
    unsigned size = i.osize;
    uint64_t v;
    if (i.op[0].kind == OpKind::Seg)
        v = c.st.seg[i.op[0].reg].selector; // a 32/64-bit push of a selector writes it zero-extended
    else if (i.op[0].kind == OpKind::Imm)
        v = i.imm;
    else
        v = c.get(i, 0);
    c.push(v & size_mask(size), size);
}

void op_pop(CpuImpl& c, const Insn& i)
{
    unsigned size = i.osize;
    uint64_t saved_sp = c.st.gpr[x86::Rsp];
    uint64_t v = c.pop(size);
    try {
        if (i.op[0].kind == OpKind::Seg) {
            c.load_segment(i.op[0].reg, uint16_t(v));
            if (i.op[0].reg == SegSs)
                c.m_stop.set_shadow = true;
        } else {
            c.set(i, 0, v); // POP [rsp+x] addresses with the incremented RSP, as the CPU does
        }
    } catch (...) {
        c.st.gpr[x86::Rsp] = saved_sp;
        throw;
    }
}

void op_pusha(CpuImpl& c, const Insn& i)
{
    uint64_t sp = c.st.gpr[x86::Rsp];
    uint64_t saved = sp;
    try {
        for (unsigned r = 0; r < 8; ++r)
            c.push(r == x86::Rsp ? saved : c.st.gpr[r], i.osize);
    } catch (...) {
        c.st.gpr[x86::Rsp] = saved;
        throw;
    }
}

void op_popa(CpuImpl& c, const Insn& i)
{
    uint64_t saved = c.st.gpr[x86::Rsp];
    uint64_t v[8];
    try {
        for (int r = 7; r >= 0; --r)
            v[r] = c.pop(i.osize);
    } catch (...) {
        c.st.gpr[x86::Rsp] = saved;
        throw;
    }
    for (unsigned r = 0; r < 8; ++r)
        if (r != x86::Rsp)
            c.set_reg(r, i.osize, v[r]);
}

void op_pushf(CpuImpl& c, const Insn& i)
{
    if ((c.st.rflags & kRflagsVm) && c.iopl() < 3)
        c.fault(kGp, 0);
    c.push(c.st.rflags & ~(kRflagsVm | kRflagsRf) & size_mask(i.osize), i.osize);
}

void op_popf(CpuImpl& c, const Insn& i)
{
    if ((c.st.rflags & kRflagsVm) && c.iopl() < 3)
        c.fault(kGp, 0);
    uint64_t v = c.pop(i.osize);
    uint64_t writable = 0x257fd5 & ~(kRflagsIopl | kRflagsIf | kRflagsRf);
    if (c.cpl() == 0 || !c.protected_mode())
        writable |= kRflagsIopl;
    if (c.cpl() <= c.iopl() || !c.protected_mode())
        writable |= kRflagsIf;
    c.set_flags(v, writable & size_mask(i.osize));
    c.st.rflags &= ~kRflagsRf;
}

void op_enter(CpuImpl& c, const Insn& i)
{
    unsigned size = i.osize;
    uint16_t alloc = uint16_t(i.imm);
    uint8_t level = uint8_t(i.imm2) & 31;
    uint64_t saved_sp = c.st.gpr[x86::Rsp], saved_bp = c.st.gpr[x86::Rbp];
    try {
        c.push(c.st.gpr[x86::Rbp], size);
        uint64_t frame = c.st.gpr[x86::Rsp] & c.sp_mask();
        uint64_t bp = c.st.gpr[x86::Rbp];
        for (unsigned k = 1; k < level; ++k) {
            bp = (bp - size) & c.sp_mask();
            c.push(c.read_mem(SegSs, bp, size), size);
        }
        if (level > 0)
            c.push(frame, size);
        uint64_t mask = c.sp_mask();
        uint64_t sp = (c.st.gpr[x86::Rsp] - alloc) & mask;
        c.linear(SegSs, sp, 1, true); // the new stack top must be addressable
        c.set_reg(x86::Rbp, size, frame);
        c.st.gpr[x86::Rsp] = (c.st.gpr[x86::Rsp] & ~mask) | sp;
    } catch (...) {
        c.st.gpr[x86::Rsp] = saved_sp;
        c.st.gpr[x86::Rbp] = saved_bp;
        throw;
    }
}

void op_leave(CpuImpl& c, const Insn& i)
{
    uint64_t mask = c.sp_mask();
    uint64_t bp = c.st.gpr[x86::Rbp] & mask;
    uint64_t v = c.read_mem(SegSs, bp, i.osize);
    c.st.gpr[x86::Rsp] = (c.st.gpr[x86::Rsp] & ~mask) | ((bp + i.osize) & mask);
    c.set_reg(x86::Rbp, i.osize, v);
}

void op_xlat(CpuImpl& c, const Insn& i)
{
    uint8_t seg = i.seg_override != 0xff ? i.seg_override : uint8_t(SegDs);
    uint64_t off = (c.st.gpr[x86::Rbx] + (c.st.gpr[x86::Rax] & 0xff)) & size_mask(i.asize);
    c.set_reg(x86::Rax, 1, c.read_mem(seg, off, 1));
}

void op_lxs(CpuImpl& c, const Insn& i)
{
    unsigned size = i.op[0].size;
    uint64_t off = c.ea(i);
    uint64_t v = c.read_mem(i.mem.seg, off, size);
    uint16_t sel = uint16_t(c.read_mem(i.mem.seg, (off + size) & size_mask(i.asize), 2));
    uint8_t seg = i.mnemonic == ZYDIS_MNEMONIC_LDS ? SegDs : i.mnemonic == ZYDIS_MNEMONIC_LES ? SegEs
                : i.mnemonic == ZYDIS_MNEMONIC_LFS ? SegFs : i.mnemonic == ZYDIS_MNEMONIC_LGS ? SegGs : SegSs;
    c.load_segment(seg, sel);
    c.set(i, 0, v);
}

void op_xchg(CpuImpl& c, const Insn& i)
{
    // XCHG with memory is always locked; the memory operand may be either one.
    Insn x = i;
    if (i.op[1].kind == OpKind::Mem)
        std::swap(x.op[0], x.op[1]);
    with_size(x.op[0].size, [&]<typename T>() {
        T src = T(c.get(x, 1));
        T old = 0;
        rmw<T>(c, x, [&](T a, uint64_t&) { old = a; return src; }, true);
        c.set(x, 1, old);
    });
}

void op_xadd(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() {
        T src = T(c.get(i, 1));
        T old = 0;
        if (i.op[0].kind != OpKind::Mem) {
            // The sum is written last: XADD r, r with one register leaves the sum in it.
            old = T(c.get(i, 0));
            const T sum = alu::binop<T>(alu::BinOp::Add, old, src, c.st.rflags);
            c.set(i, 1, old);
            c.set(i, 0, sum);
            return;
        }
        rmw<T>(c, i, [&](T a, uint64_t& fl) { old = a; return alu::binop<T>(alu::BinOp::Add, a, src, fl); });
        c.set(i, 1, old);
    });
}

void op_cmpxchg(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() {
        T acc = T(c.st.gpr[x86::Rax]);
        T src = T(c.get(i, 1));
        T old = 0;
        if (i.op[0].kind != OpKind::Mem) {
            // A register destination is left alone on a mismatch: a 32-bit one keeps its upper half.
            old = T(c.get(i, 0));
            alu::binop<T>(alu::BinOp::Cmp, acc, old, c.st.rflags);
            if (old == acc)
                c.set(i, 0, src);
            else
                c.set_reg(x86::Rax, sizeof(T), old);
            return;
        }
        // A memory destination is written either way (with its own value on a mismatch).
        rmw<T>(c, i, [&](T a, uint64_t& fl) {
            old = a;
            alu::binop<T>(alu::BinOp::Cmp, acc, a, fl);
            return a == acc ? src : a;
        });
        if (old != acc)
            c.set_reg(x86::Rax, sizeof(T), old);
    });
}

void op_cmpxchg8b(CpuImpl& c, const Insn& i)
{
    uint64_t expected = (c.st.gpr[x86::Rax] & 0xffffffffull) | (c.st.gpr[x86::Rdx] << 32);
    uint64_t desired = (c.st.gpr[x86::Rbx] & 0xffffffffull) | (c.st.gpr[x86::Rcx] << 32);
    Insn q = i;
    q.op[0].size = 8;
    uint64_t old = 0;
    rmw<uint64_t>(c, q, [&](uint64_t a, uint64_t&) { old = a; return a == expected ? desired : a; });
    if (old == expected) {
        c.st.rflags |= alu::kZf;
    } else {
        c.st.rflags &= ~alu::kZf;
        c.set_reg(x86::Rax, 4, old);
        c.set_reg(x86::Rdx, 4, old >> 32);
    }
}

void op_cmpxchg16b(CpuImpl& c, const Insn& i)
{
    uint64_t off = c.ea(i);
    uint64_t lin = c.linear(i.mem.seg, off, 16, true);
    if (lin & 15)
        c.fault(kGp, 0);
    uint64_t lo = c.st.gpr[x86::Rax], hi = c.st.gpr[x86::Rdx];
    bool ok;
    if (uint8_t* h = c.host_for_rmw(lin, 16)) {
        uint64_t blo = c.st.gpr[x86::Rbx], bhi = c.st.gpr[x86::Rcx];
        asm volatile("lock cmpxchg16b (%[p])" : "+a"(lo), "+d"(hi), "=@ccz"(ok) : [p] "r"(h), "b"(blo), "c"(bhi) : "memory");
    } else {
        uint64_t mlo = c.read_lin(lin, 8, kAccWrite), mhi = c.read_lin(lin + 8, 8, kAccWrite);
        ok = mlo == lo && mhi == hi;
        if (ok) {
            c.write_lin(lin, 8, c.st.gpr[x86::Rbx]);
            c.write_lin(lin + 8, 8, c.st.gpr[x86::Rcx]);
        }
        lo = mlo;
        hi = mhi;
    }
    if (ok) {
        c.st.rflags |= alu::kZf;
    } else {
        c.st.rflags &= ~alu::kZf;
        c.st.gpr[x86::Rax] = lo;
        c.st.gpr[x86::Rdx] = hi;
    }
}

} // namespace xkvm::emu

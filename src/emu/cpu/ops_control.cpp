// Control transfer: JMP/CALL/RET near and far, Jcc, LOOP/JCXZ, INT n/INT3/INTO/INT1, IRET, HLT.
#include "emu/cpu/alu.h"
#include "emu/cpu/ops.h"

namespace xkvm::emu {

namespace {

bool is_far(const Insn& i)
{
    if (i.op[0].kind == OpKind::Ptr)
        return true;
    return i.opcode == 0xff && (i.modrm_reg == 3 || i.modrm_reg == 5);
}

// A far pointer in memory: offset (operand size) then selector.
void far_pointer(CpuImpl& c, const Insn& i, uint16_t& sel, uint64_t& off)
{
    if (i.op[0].kind == OpKind::Ptr) {
        sel = uint16_t(i.imm2);
        off = i.imm;
        return;
    }
    unsigned size = i.osize;
    uint64_t a = c.ea(i);
    off = c.read_mem(i.mem.seg, a, size);
    sel = uint16_t(c.read_mem(i.mem.seg, (a + size) & size_mask(i.asize), 2));
}

uint64_t near_target(CpuImpl& c, const Insn& i)
{
    if (i.op[0].kind == OpKind::Imm)
        return c.m_next + i.imm;
    return c.get(i, 0);
}

} // namespace

void op_jmp(CpuImpl& c, const Insn& i)
{
    if (is_far(i)) {
        uint16_t sel;
        uint64_t off;
        far_pointer(c, i, sel, off);
        c.far_jump(sel, off, false, i.osize);
        return;
    }
    c.jump(near_target(c, i), i.osize);
}

void op_call(CpuImpl& c, const Insn& i)
{
    if (is_far(i)) {
        uint16_t sel;
        uint64_t off;
        far_pointer(c, i, sel, off);
        uint64_t saved_sp = c.st.gpr[x86::Rsp];
        try {
            c.far_jump(sel, off, true, i.osize);
        } catch (...) {
            c.st.gpr[x86::Rsp] = saved_sp;
            throw;
        }
        return;
    }
    uint64_t ret = c.m_next;
    c.jump(near_target(c, i), i.osize); // checks the target before anything is pushed
    c.push(ret, i.osize);
}

void op_ret(CpuImpl& c, const Insn& i)
{
    uint16_t extra = i.nops ? uint16_t(i.imm) : 0;
    if (i.opcode == 0xca || i.opcode == 0xcb) {
        c.far_return(i.osize, extra);
        return;
    }
    uint64_t mask = c.sp_mask();
    uint64_t sp = c.st.gpr[x86::Rsp] & mask;
    uint64_t target = c.read_mem(SegSs, sp, i.osize);
    c.jump(target, i.osize);
    c.st.gpr[x86::Rsp] = (c.st.gpr[x86::Rsp] & ~mask) | ((sp + i.osize + extra) & mask);
}

void op_iret(CpuImpl& c, const Insn& i) { c.iret(i.osize); }

void op_jcc(CpuImpl& c, const Insn& i)
{
    if (alu::condition(i.opcode & 0xf, c.st.rflags))
        c.jump(c.m_next + i.imm, i.osize);
}

void op_jcxz(CpuImpl& c, const Insn& i)
{
    if (c.reg(x86::Rcx, i.asize) == 0)
        c.jump(c.m_next + i.imm, i.osize);
}

void op_loop(CpuImpl& c, const Insn& i)
{
    uint64_t count = (c.reg(x86::Rcx, i.asize) - 1) & size_mask(i.asize);
    bool zf = c.st.rflags & alu::kZf;
    bool take = count != 0;
    if (i.mnemonic == ZYDIS_MNEMONIC_LOOPE)
        take = take && zf;
    else if (i.mnemonic == ZYDIS_MNEMONIC_LOOPNE)
        take = take && !zf;
    if (take)
        c.jump(c.m_next + i.imm, i.osize);
    c.set_reg(x86::Rcx, i.asize, count);
}

// INT n and friends are traps: the frame holds the next instruction; a fault while delivering
// reports the INT instruction itself.
static void software_interrupt(CpuImpl& c, uint8_t vector, bool dpl_checked)
{
    uint64_t rip = c.st.rip;
    c.st.rip = c.m_next;
    try {
        c.deliver(vector, false, 0, dpl_checked, false);
    } catch (...) {
        c.st.rip = rip;
        throw;
    }
    c.m_next = c.st.rip;
}

void op_int(CpuImpl& c, const Insn& i)
{
    if ((c.st.rflags & kRflagsVm) && c.iopl() < 3)
        c.fault(kGp, 0);
    software_interrupt(c, uint8_t(i.imm), true);
}

void op_int3(CpuImpl& c, const Insn& i)
{
    if (c.m_intercepts.breakpoints && c.intercepting()) {
        CpuExit::Introspect x;
        x.what = CpuExit::Introspect::What::Breakpoint;
        c.intercept(x, i.length);
    }
    software_interrupt(c, kBp, true);
}

void op_into(CpuImpl& c, const Insn&)
{
    if (c.st.rflags & alu::kOf)
        software_interrupt(c, kOfv, true);
}

void op_int1(CpuImpl& c, const Insn&) { software_interrupt(c, kDb, false); }

void op_hlt(CpuImpl& c, const Insn&)
{
    require_cpl0(c);
    c.st.run_state = RunState::Halted;
    c.post_exit(CpuExit{ CpuExit::Kind::Halt });
}

void op_ud(CpuImpl& c, const Insn& i);

void op_nop(CpuImpl&, const Insn&) {}

void op_clflush(CpuImpl& c, const Insn& i)
{
    c.linear(i.mem.seg, c.ea(i), 1, false); // checks the address like a byte load
}

void op_fwait(CpuImpl& c, const Insn&)
{
    if ((c.st.cr0 & (kCr0Mp | kCr0Ts)) == (kCr0Mp | kCr0Ts))
        c.fault(kNm);
}

} // namespace xkvm::emu

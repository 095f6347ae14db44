// String instructions with REP, and port I/O (IOPL and the TSS I/O permission bitmap). A REP loop runs a bounded number of elements per
// step and keeps RIP on the instruction until RCX reaches 0, so stops, interrupts and the budget
// are seen in between; an element that touched a port or MMIO ends the step (one exit each).
#include "emu/cpu/alu.h"
#include "emu/cpu/ops.h"

namespace xkvm::emu {

namespace {

constexpr unsigned kRepChunk = 4096;

enum class Str { Movs, Stos, Lods, Cmps, Scas, Ins, Outs };

unsigned element_size(const Insn& i)
{
    switch (i.mnemonic) {
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_LODSB:
    case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_INSB:
    case ZYDIS_MNEMONIC_OUTSB:
        return 1;
    case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_LODSW:
    case ZYDIS_MNEMONIC_CMPSW: case ZYDIS_MNEMONIC_SCASW: case ZYDIS_MNEMONIC_INSW:
    case ZYDIS_MNEMONIC_OUTSW:
        return 2;
    case ZYDIS_MNEMONIC_MOVSQ: case ZYDIS_MNEMONIC_STOSQ: case ZYDIS_MNEMONIC_LODSQ:
    case ZYDIS_MNEMONIC_CMPSQ: case ZYDIS_MNEMONIC_SCASQ:
        return 8;
    default:
        return 4;
    }
}

// Port access above IOPL (or in virtual-8086 mode) is allowed only by the TSS's I/O permission
// bitmap: every bit for port..port+size-1 clear, all within the TSS limit.
bool io_bitmap_allows(CpuImpl& c, uint16_t port, unsigned size)
{
    const x86::Segment& tr = c.st.tr;
    if (tr.unusable || !(tr.type == 0x9 || tr.type == 0xb) || tr.limit < 0x67)
        return false;
    uint32_t base = uint32_t(c.read_lin(tr.base + 0x66, 2, kAccSystem));
    uint32_t byte = base + port / 8;
    if (byte + 1 > tr.limit)
        return false;
    uint32_t bits = uint32_t(c.read_lin(tr.base + byte, 2, kAccSystem));
    uint32_t mask = ((1u << size) - 1) << (port & 7);
    return (bits & mask) == 0;
}

void check_io(CpuImpl& c, uint16_t port, unsigned size)
{
    if (c.protected_mode() && (c.cpl() > c.iopl() || (c.st.rflags & kRflagsVm)) && !io_bitmap_allows(c, port, size))
        c.fault(kGp, 0);
}

void advance(CpuImpl& c, const Insn& i, unsigned r, unsigned size)
{
    int64_t delta = (c.st.rflags & kRflagsDf) ? -int64_t(size) : int64_t(size);
    c.set_reg(r, i.asize, c.reg(r, i.asize) + uint64_t(delta));
}

// One element; false when a REPE/REPNE comparison ends the loop.
bool element(CpuImpl& c, const Insn& i, Str kind, unsigned size)
{
    uint8_t src_seg = i.seg_override != 0xff ? i.seg_override : uint8_t(SegDs);
    uint64_t si = c.reg(x86::Rsi, i.asize), di = c.reg(x86::Rdi, i.asize);
    bool go_on = true;
    switch (kind) {
    case Str::Movs:
        c.write_mem(SegEs, di, size, c.read_mem(src_seg, si, size));
        advance(c, i, x86::Rsi, size);
        advance(c, i, x86::Rdi, size);
        break;
    case Str::Stos:
        c.write_mem(SegEs, di, size, c.st.gpr[x86::Rax]);
        advance(c, i, x86::Rdi, size);
        break;
    case Str::Lods:
        c.set_reg(x86::Rax, size, c.read_mem(src_seg, si, size));
        advance(c, i, x86::Rsi, size);
        break;
    case Str::Cmps:
    case Str::Scas: {
        uint64_t a = kind == Str::Cmps ? c.read_mem(src_seg, si, size) : c.st.gpr[x86::Rax];
        uint64_t b = c.read_mem(SegEs, di, size);
        with_size(size, [&]<typename T>() { alu::binop<T>(alu::BinOp::Cmp, T(a), T(b), c.st.rflags); });
        if (kind == Str::Cmps)
            advance(c, i, x86::Rsi, size);
        advance(c, i, x86::Rdi, size);
        bool zf = c.st.rflags & alu::kZf;
        go_on = i.rep == kRepne ? !zf : zf;
        break;
    }
    case Str::Ins: {
        c.linear(SegEs, di, size, true); // the destination is checked before the port is read
        uint64_t v = c.port_in(uint16_t(c.st.gpr[x86::Rdx]), size);
        c.write_mem(SegEs, di, size, v);
        advance(c, i, x86::Rdi, size);
        break;
    }
    case Str::Outs:
        c.port_out(uint16_t(c.st.gpr[x86::Rdx]), size, c.read_mem(src_seg, si, size));
        advance(c, i, x86::Rsi, size);
        break;
    }
    return go_on;
}

void string_op(CpuImpl& c, const Insn& i, Str kind)
{
    if (!i.legacy_map)
        c.fault(kUd); // MOVSD/CMPSD of SSE2
    unsigned size = element_size(i);
    if (!i.rep) {
        element(c, i, kind, size);
        return;
    }
    bool conditional = kind == Str::Cmps || kind == Str::Scas;
    for (unsigned n = 0;; ++n) {
        if (c.reg(x86::Rcx, i.asize) == 0)
            return;
        if (n == kRepChunk || c.m_stop.io_done) {
            c.m_next = c.st.rip; // resume here
            c.m_stop.rep_yield = true;
            return;
        }
        bool go_on = element(c, i, kind, size);
        c.set_reg(x86::Rcx, i.asize, c.reg(x86::Rcx, i.asize) - 1);
        if (conditional && !go_on)
            return;
    }
}

} // namespace

void op_movs(CpuImpl& c, const Insn& i) { string_op(c, i, Str::Movs); }
void op_stos(CpuImpl& c, const Insn& i) { string_op(c, i, Str::Stos); }
void op_lods(CpuImpl& c, const Insn& i) { string_op(c, i, Str::Lods); }
void op_cmps(CpuImpl& c, const Insn& i) { string_op(c, i, Str::Cmps); }
void op_scas(CpuImpl& c, const Insn& i) { string_op(c, i, Str::Scas); }

void op_ins(CpuImpl& c, const Insn& i)
{
    check_io(c, uint16_t(c.st.gpr[x86::Rdx]), element_size(i));
    string_op(c, i, Str::Ins);
}

void op_outs(CpuImpl& c, const Insn& i)
{
    check_io(c, uint16_t(c.st.gpr[x86::Rdx]), element_size(i));
    string_op(c, i, Str::Outs);
}

uint64_t CpuImpl::port_in(uint16_t port, unsigned size)
{
    uint64_t v = 0;
    if (bus.local_pio(port, &v, size, false))
        return v & size_mask(size);
    CpuExit e;
    e.kind = CpuExit::Kind::PortIn;
    e.port = port;
    e.size = uint8_t(size);
    return read_from_vmm(e);
}

void CpuImpl::port_out(uint16_t port, unsigned size, uint64_t v)
{
    v &= size_mask(size);
    if (bus.local_pio(port, &v, size, true))
        return;
    m_stop.io_done = true;
    CpuExit e;
    e.kind = CpuExit::Kind::PortOut;
    e.port = port;
    e.size = uint8_t(size);
    e.value = v;
    post_exit(e);
}

void op_in(CpuImpl& c, const Insn& i)
{
    unsigned size = i.op[0].size;
    uint16_t port = i.op[1].kind == OpKind::Imm ? uint16_t(i.imm & 0xff) : uint16_t(c.st.gpr[x86::Rdx]);
    check_io(c, port, size);
    c.set_reg(x86::Rax, size, c.port_in(port, size));
}

void op_out(CpuImpl& c, const Insn& i)
{
    unsigned size = i.op[1].size;
    uint16_t port = i.op[0].kind == OpKind::Imm ? uint16_t(i.imm & 0xff) : uint16_t(c.st.gpr[x86::Rdx]);
    check_io(c, port, size);
    c.port_out(port, size, c.st.gpr[x86::Rax]);
}

} // namespace xkvm::emu

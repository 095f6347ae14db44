// Integer arithmetic and logic handlers. The semantics are alu.h's; these only fetch operands,
// write results, and make LOCKed read-modify-writes host-atomic.
#include "emu/cpu/alu.h"
#include "emu/cpu/atomic_rmw.h"
#include "emu/cpu/ops.h"

namespace xkvm::emu {

namespace {

template<alu::BinOp Op> void binop(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() {
        T b = T(c.get(i, 1));
        if constexpr (Op == alu::BinOp::Cmp) {
            alu::binop<T>(Op, T(c.get(i, 0)), b, c.st.rflags);
        } else {
            rmw<T>(c, i, [&](T a, uint64_t& fl) { return alu::binop<T>(Op, a, b, fl); });
        }
    });
}

} // namespace

void op_add(CpuImpl& c, const Insn& i) { binop<alu::BinOp::Add>(c, i); }
void op_or(CpuImpl& c, const Insn& i) { binop<alu::BinOp::Or>(c, i); }
void op_adc(CpuImpl& c, const Insn& i) { binop<alu::BinOp::Adc>(c, i); }
void op_sbb(CpuImpl& c, const Insn& i) { binop<alu::BinOp::Sbb>(c, i); }
void op_and(CpuImpl& c, const Insn& i) { binop<alu::BinOp::And>(c, i); }
void op_sub(CpuImpl& c, const Insn& i) { binop<alu::BinOp::Sub>(c, i); }
void op_xor(CpuImpl& c, const Insn& i) { binop<alu::BinOp::Xor>(c, i); }
void op_cmp(CpuImpl& c, const Insn& i) { binop<alu::BinOp::Cmp>(c, i); }

void op_test(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() {
        alu::binop<T>(alu::BinOp::And, T(c.get(i, 0)), T(c.get(i, 1)), c.st.rflags);
    });
}

void op_inc(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() { rmw<T>(c, i, [](T a, uint64_t& fl) { return alu::inc<T>(a, fl); }); });
}

void op_dec(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() { rmw<T>(c, i, [](T a, uint64_t& fl) { return alu::dec<T>(a, fl); }); });
}

void op_neg(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() { rmw<T>(c, i, [](T a, uint64_t& fl) { return alu::neg<T>(a, fl); }); });
}

void op_not(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() { rmw<T>(c, i, [](T a, uint64_t&) { return T(~a); }); });
}

void op_shift(CpuImpl& c, const Insn& i)
{
    auto op = alu::ShiftOp(i.modrm_reg & 7);
    uint8_t count = i.nops > 1 ? uint8_t(c.get(i, 1)) : 1;
    with_size(i.op[0].size, [&]<typename T>() {
        rmw<T>(c, i, [&](T a, uint64_t& fl) { return alu::shift<T>(op, a, count, fl); });
    });
}

void op_shld(CpuImpl& c, const Insn& i)
{
    uint8_t count = uint8_t(c.get(i, 2));
    with_size(i.op[0].size, [&]<typename T>() {
        T src = T(c.get(i, 1));
        rmw<T>(c, i, [&](T a, uint64_t& fl) { return alu::shld<T>(a, src, count, fl); });
    });
}

void op_shrd(CpuImpl& c, const Insn& i)
{
    uint8_t count = uint8_t(c.get(i, 2));
    with_size(i.op[0].size, [&]<typename T>() {
        T src = T(c.get(i, 1));
        rmw<T>(c, i, [&](T a, uint64_t& fl) { return alu::shrd<T>(a, src, count, fl); });
    });
}

// One-operand MUL/IMUL/DIV/IDIV work on AL/AX, DX:AX, EDX:EAX or RDX:RAX.
template<typename T> static void set_wide(CpuImpl& c, T lo, T hi)
{
    if constexpr (sizeof(T) == 1) {
        c.set_reg(x86::Rax, 2, uint16_t(lo | (uint16_t(hi) << 8)));
    } else {
        c.set_reg(x86::Rax, sizeof(T), lo);
        c.set_reg(x86::Rdx, sizeof(T), hi);
    }
}

template<typename T> static void get_wide(CpuImpl& c, T& lo, T& hi)
{
    if constexpr (sizeof(T) == 1) {
        lo = T(c.st.gpr[x86::Rax]);
        hi = T(c.st.gpr[x86::Rax] >> 8);
    } else {
        lo = T(c.st.gpr[x86::Rax]);
        hi = T(c.st.gpr[x86::Rdx]);
    }
}

void op_mul(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() {
        T b = T(c.get(i, 0));
        auto w = alu::mul<T>(T(c.st.gpr[x86::Rax]), b, c.st.rflags);
        set_wide<T>(c, w.lo, w.hi);
    });
}

void op_imul(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() {
        if (i.nops == 1) {
            T b = T(c.get(i, 0));
            auto w = alu::imul<T>(T(c.st.gpr[x86::Rax]), b, c.st.rflags);
            set_wide<T>(c, w.lo, w.hi);
        } else {
            T a = T(c.get(i, i.nops == 3 ? 1 : 0));
            T b = T(c.get(i, i.nops == 3 ? 2 : 1));
            c.set(i, 0, alu::imul_trunc<T>(a, b, c.st.rflags));
        }
    });
}

// DIV and IDIV: RDX:RAX (AH:AL for bytes) by the operand; #DE where the quotient does not fit.
template<bool Signed> void divide(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() {
        T d = T(c.get(i, 0)), lo, hi;
        get_wide<T>(c, lo, hi);
        uint64_t fl = c.st.rflags;
        auto r = Signed ? alu::idiv<T>(hi, lo, d, fl) : alu::div<T>(hi, lo, d, fl);
        if (!r)
            c.fault(kDe);
        c.st.rflags = fl;
        set_wide<T>(c, r->quotient, r->remainder);
    });
}

void op_div(CpuImpl& c, const Insn& i) { divide<false>(c, i); }
void op_idiv(CpuImpl& c, const Insn& i) { divide<true>(c, i); }

// BT family: a register bit offset addresses memory beyond the operand (signed, in operand-size
// units); an immediate one is taken modulo the width.
void op_bt(CpuImpl& c, const Insn& i)
{
    auto op = i.mnemonic == ZYDIS_MNEMONIC_BT ? alu::BitOp::Bt
            : i.mnemonic == ZYDIS_MNEMONIC_BTS ? alu::BitOp::Bts
            : i.mnemonic == ZYDIS_MNEMONIC_BTR ? alu::BitOp::Btr : alu::BitOp::Btc;
    with_size(i.op[0].size, [&]<typename T>() {
        constexpr unsigned kBits = sizeof(T) * 8;
        uint64_t raw = c.get(i, 1);
        if (i.op[0].kind == OpKind::Mem && i.op[1].kind != OpKind::Imm) {
            int64_t bit = int64_t(sign_extend(raw, i.op[1].size));
            int64_t unit = bit >= 0 ? bit / kBits : -((-bit + kBits - 1) / kBits);
            unsigned within = unsigned(bit - unit * int64_t(kBits));
            uint64_t off = (c.ea(i) + uint64_t(unit) * sizeof(T)) & size_mask(i.asize);
            Insn shifted = i; // same operand at the displaced address
            shifted.mem.base = kNoReg;
            shifted.mem.index = kNoReg;
            shifted.mem.disp = int64_t(off);
            if (op == alu::BitOp::Bt)
                alu::bit_test<T>(op, T(c.get(shifted, 0)), within, c.st.rflags);
            else
                rmw<T>(c, shifted, [&](T a, uint64_t& fl) { return alu::bit_test<T>(op, a, within, fl); });
            return;
        }
        unsigned bit = unsigned(raw % kBits);
        if (op == alu::BitOp::Bt)
            alu::bit_test<T>(op, T(c.get(i, 0)), bit, c.st.rflags);
        else
            rmw<T>(c, i, [&](T a, uint64_t& fl) { return alu::bit_test<T>(op, a, bit, fl); });
    });
}

void op_bsf(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() {
        const T src = T(c.get(i, 1));
        const T result = alu::bsf<T>(src, T(c.get(i, 0)), c.st.rflags);
        if (src != 0) // a zero source leaves the whole register alone, upper half included
            c.set(i, 0, result);
    });
}

void op_bsr(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() {
        const T src = T(c.get(i, 1));
        const T result = alu::bsr<T>(src, T(c.get(i, 0)), c.st.rflags);
        if (src != 0) // a zero source leaves the whole register alone, upper half included
            c.set(i, 0, result);
    });
}

void op_popcnt(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() { c.set(i, 0, alu::popcnt<T>(T(c.get(i, 1)), c.st.rflags)); });
}

void op_lzcnt(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() { c.set(i, 0, alu::lzcnt<T>(T(c.get(i, 1)), c.st.rflags)); });
}

void op_tzcnt(CpuImpl& c, const Insn& i)
{
    with_size(i.op[0].size, [&]<typename T>() { c.set(i, 0, alu::tzcnt<T>(T(c.get(i, 1)), c.st.rflags)); });
}

void op_bswap(CpuImpl& c, const Insn& i)
{
    if (i.op[0].size == 2) { // undefined by the SDM; zero, as current CPUs do
        c.set(i, 0, 0);
        return;
    }
    with_size(i.op[0].size, [&]<typename T>() { c.set(i, 0, alu::bswap<T>(T(c.get(i, 0)))); });
}

void op_setcc(CpuImpl& c, const Insn& i) { c.set(i, 0, alu::condition(i.opcode & 0xf, c.st.rflags) ? 1 : 0); }

void op_cmovcc(CpuImpl& c, const Insn& i)
{
    uint64_t v = c.get(i, 1); // the source is read (and may fault) whatever the condition
    if (alu::condition(i.opcode & 0xf, c.st.rflags))
        c.set(i, 0, v);
    else if (i.op[0].size == 4)
        c.set(i, 0, c.get(i, 0)); // a 32-bit CMOV zero-extends even when it does not move
}

static void ascii_adjust(CpuImpl& c, uint16_t (*fn)(uint16_t, uint64_t&))
{
    c.set_reg(x86::Rax, 2, fn(uint16_t(c.st.gpr[x86::Rax]), c.st.rflags));
}

void op_daa(CpuImpl& c, const Insn&) { ascii_adjust(c, alu::daa); }
void op_das(CpuImpl& c, const Insn&) { ascii_adjust(c, alu::das); }
void op_aaa(CpuImpl& c, const Insn&) { ascii_adjust(c, alu::aaa); }
void op_aas(CpuImpl& c, const Insn&) { ascii_adjust(c, alu::aas); }

void op_aam(CpuImpl& c, const Insn& i)
{
    auto r = alu::aam(uint16_t(c.st.gpr[x86::Rax]), uint8_t(i.imm), c.st.rflags);
    if (!r)
        c.fault(kDe);
    c.set_reg(x86::Rax, 2, *r);
}

void op_aad(CpuImpl& c, const Insn& i)
{
    c.set_reg(x86::Rax, 2, alu::aad(uint16_t(c.st.gpr[x86::Rax]), uint8_t(i.imm), c.st.rflags));
}

void op_cbw(CpuImpl& c, const Insn& i)
{
    unsigned half = i.osize / 2;
    c.set_reg(x86::Rax, i.osize, sign_extend(c.reg(x86::Rax, half), half));
}

void op_cwd(CpuImpl& c, const Insn& i)
{
    bool neg = (c.reg(x86::Rax, i.osize) >> (i.osize * 8 - 1)) & 1;
    c.set_reg(x86::Rdx, i.osize, neg ? ~0ull : 0);
}

void op_lahf(CpuImpl& c, const Insn&)
{
    c.st.gpr[x86::Rax] = (c.st.gpr[x86::Rax] & ~0xff00ull) | ((c.st.rflags & 0xd5) | 2) << 8;
}

void op_sahf(CpuImpl& c, const Insn&)
{
    c.st.rflags = (c.st.rflags & ~0xd5ull) | ((c.st.gpr[x86::Rax] >> 8) & 0xd5);
}

void op_clc(CpuImpl& c, const Insn&) { c.st.rflags &= ~alu::kCf; }
void op_stc(CpuImpl& c, const Insn&) { c.st.rflags |= alu::kCf; }
void op_cmc(CpuImpl& c, const Insn&) { c.st.rflags ^= alu::kCf; }
void op_cld(CpuImpl& c, const Insn&) { c.st.rflags &= ~kRflagsDf; }
void op_std(CpuImpl& c, const Insn&) { c.st.rflags |= kRflagsDf; }

} // namespace xkvm::emu

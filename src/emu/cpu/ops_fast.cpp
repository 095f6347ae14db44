// Form-specialised handlers for the instruction forms integer code spends its time in: MOV, the
// ALU group, INC/DEC, shifts and rotates of a register, two- and three-operand IMUL, MOVZX/MOVSX, LEA and Jcc, with register, immediate or memory operands of a
// size known when the instruction is decoded. The generic handlers (ops_alu.cpp, ops_data.cpp) ask
// the operand kinds and sizes at run time on every execution; these have them as template
// arguments, so an ADD reg, imm is a register load, the ALU function and a register store.
//
// Semantics are the generic handlers', operand for operand (same ALU functions, same order of
// reads, same access kinds); LOCKed forms and anything unusual keep the generic handler.
#include <array>
#include <type_traits>
#include <utility>

#include "emu/cpu/alu.h"
#include "emu/cpu/ops.h"

namespace xkvm::emu {

namespace {

enum class Src : uint8_t { Reg, Imm, Mem };

template<typename T> void set_gpr(CpuImpl& c, uint8_t r, T v) { c.set_reg(r, sizeof(T), v); }

// The source operand (op[n]) of a form whose kind is fixed at decode.
template<typename T, Src S> T source(CpuImpl& c, const Insn& i, unsigned n)
{
    if constexpr (S == Src::Reg)
        return T(c.st.gpr[i.op[n].reg]);
    else if constexpr (S == Src::Imm)
        return T(i.imm); // sign-extended to 64 bits by the decoder where the encoding says so
    else
        return T(c.read_mem(i.mem.seg, c.ea(i), sizeof(T)));
}

// ---- ADD OR ADC SBB AND SUB XOR CMP TEST. Write: the result goes back (not CMP and TEST).
template<alu::BinOp Op, bool Write, typename T, Src S> void binop_to_reg(CpuImpl& c, const Insn& i)
{
    T b = source<T, S>(c, i, 1);
    T r = alu::binop<T>(Op, T(c.st.gpr[i.op[0].reg]), b, c.st.rflags);
    if constexpr (Write)
        set_gpr<T>(c, i.op[0].reg, r);
}

template<alu::BinOp Op, bool Write, typename T, Src S> void binop_to_mem(CpuImpl& c, const Insn& i)
{
    T b = source<T, S>(c, i, 1);
    if constexpr (Write) {
        uint64_t lin = c.linear(i.mem.seg, c.ea(i), sizeof(T), true);
        T r = alu::binop<T>(Op, T(c.read_lin(lin, sizeof(T), kAccWrite)), b, c.st.rflags);
        c.write_lin(lin, sizeof(T), r);
    } else {
        alu::binop<T>(Op, T(c.read_mem(i.mem.seg, c.ea(i), sizeof(T))), b, c.st.rflags);
    }
}

// ---- MOV, MOVZX, MOVSX(D), LEA, INC, DEC
template<typename T, Src S> void mov_to_reg(CpuImpl& c, const Insn& i)
{
    set_gpr<T>(c, i.op[0].reg, source<T, S>(c, i, 1));
}

template<typename T, Src S> void mov_to_mem(CpuImpl& c, const Insn& i)
{
    T v = source<T, S>(c, i, 1);
    c.write_mem(i.mem.seg, c.ea(i), sizeof(T), v);
}

template<typename TD, typename TS, bool Signed, Src S> void extend_to_reg(CpuImpl& c, const Insn& i)
{
    TS v = source<TS, S>(c, i, 1);
    if constexpr (Signed)
        set_gpr<TD>(c, i.op[0].reg, TD(std::make_signed_t<TD>(std::make_signed_t<TS>(v))));
    else
        set_gpr<TD>(c, i.op[0].reg, TD(v));
}

template<typename T> void lea_to_reg(CpuImpl& c, const Insn& i) { set_gpr<T>(c, i.op[0].reg, T(c.ea(i))); }

template<bool Inc, typename T> void incdec_reg(CpuImpl& c, const Insn& i)
{
    T a = T(c.st.gpr[i.op[0].reg]);
    set_gpr<T>(c, i.op[0].reg, Inc ? alu::inc<T>(a, c.st.rflags) : alu::dec<T>(a, c.st.rflags));
}

// ---- IMUL r, r/m (A = Reg: op[0] by op[1]) and IMUL r, r/m, imm (op[1] by the immediate)
template<typename T, Src S> void imul2(CpuImpl& c, const Insn& i)
{
    T a = T(c.st.gpr[i.op[0].reg]);
    set_gpr<T>(c, i.op[0].reg, alu::imul_trunc<T>(a, source<T, S>(c, i, 1), c.st.rflags));
}

template<typename T, Src S> void imul3(CpuImpl& c, const Insn& i)
{
    T a = source<T, S>(c, i, 1);
    set_gpr<T>(c, i.op[0].reg, alu::imul_trunc<T>(a, T(i.imm), c.st.rflags));
}

// ---- the group-2 shifts and rotates of a register; the count an immediate or CL (Src::Reg)
template<typename T, Src S> void shift_reg(CpuImpl& c, const Insn& i)
{
    auto op = alu::ShiftOp(i.modrm_reg & 7);
    uint8_t count = S == Src::Reg ? uint8_t(c.st.gpr[i.op[1].reg]) : uint8_t(i.imm);
    T a = T(c.st.gpr[i.op[0].reg]);
    set_gpr<T>(c, i.op[0].reg, alu::shift<T>(op, a, count, c.st.rflags)); // (written even for count 0)
}

// ---- Jcc: the condition code a constant, so its flag mask is too.
template<uint8_t Cc> void jcc_rel(CpuImpl& c, const Insn& i)
{
    if (alu::condition(Cc, c.st.rflags))
        c.jump(c.m_next + i.imm, i.osize);
}

template<uint8_t... Cc> constexpr std::array<Handler, 16> jcc_table(std::integer_sequence<uint8_t, Cc...>)
{
    return { &jcc_rel<Cc>... };
}
constexpr std::array<Handler, 16> kJcc = jcc_table(std::make_integer_sequence<uint8_t, 16>{});

// ---- choosing a form
bool sized(const Operand& o) { return o.size == 1 || o.size == 2 || o.size == 4 || o.size == 8; }

// The source kind of op[1], where a specialised form exists for it.
bool source_kind(const Insn& i, Src& s)
{
    const Operand& o = i.op[1];
    switch (o.kind) {
    case OpKind::Gpr: s = Src::Reg; return o.size == i.op[0].size;
    case OpKind::Imm: s = Src::Imm; return o.reg == 0;
    case OpKind::Mem: s = Src::Mem; return o.size == i.op[0].size;
    default: return false;
    }
}

// F<T, S>::handler for the operand size of op[0] and the source kind.
template<template<typename, Src> class F> Handler pick(const Insn& i, Src s)
{
    return with_size(i.op[0].size, [&]<typename T>() -> Handler {
        switch (s) {
        case Src::Reg: return F<T, Src::Reg>::handler;
        case Src::Imm: return F<T, Src::Imm>::handler;
        default: return F<T, Src::Mem>::handler;
        }
    });
}

template<alu::BinOp Op, bool Write> struct BinToReg {
    template<typename T, Src S> struct F {
        static constexpr Handler handler = &binop_to_reg<Op, Write, T, S>;
    };
};
template<alu::BinOp Op, bool Write> struct BinToMem {
    template<typename T, Src S> struct F {
        static constexpr Handler handler = &binop_to_mem<Op, Write, T, S>;
    };
};
template<typename T, Src S> struct MovToReg {
    static constexpr Handler handler = &mov_to_reg<T, S>;
};
template<typename T, Src S> struct MovToMem {
    static constexpr Handler handler = &mov_to_mem<T, S>;
};

template<alu::BinOp Op, bool Write = true> Handler binop_form(const Insn& i)
{
    Src s;
    if (i.nops != 2 || !source_kind(i, s))
        return nullptr;
    if (i.op[0].kind == OpKind::Gpr)
        return pick<BinToReg<Op, Write>::template F>(i, s);
    if (i.op[0].kind == OpKind::Mem && s != Src::Mem) // (no encoding has two memory operands)
        return pick<BinToMem<Op, Write>::template F>(i, s);
    return nullptr;
}

Handler mov_form(const Insn& i)
{
    Src s;
    if (i.nops != 2 || !source_kind(i, s))
        return nullptr;
    if (i.op[0].kind == OpKind::Gpr)
        return pick<MovToReg>(i, s);
    if (i.op[0].kind == OpKind::Mem && s != Src::Mem)
        return pick<MovToMem>(i, s);
    return nullptr;
}

template<bool Signed> Handler extend_form(const Insn& i)
{
    const Operand& s = i.op[1];
    if (i.nops != 2 || i.op[0].kind != OpKind::Gpr || (s.kind != OpKind::Gpr && s.kind != OpKind::Mem) ||
        s.size >= i.op[0].size || (s.size != 1 && s.size != 2 && s.size != 4))
        return nullptr;
    bool mem = s.kind == OpKind::Mem;
    return with_size(i.op[0].size, [&]<typename TD>() -> Handler {
        auto by_source = [&]<typename TS>() -> Handler {
            if constexpr (sizeof(TS) >= sizeof(TD))
                return nullptr;
            else
                return mem ? &extend_to_reg<TD, TS, Signed, Src::Mem> : &extend_to_reg<TD, TS, Signed, Src::Reg>;
        };
        return with_size(s.size, by_source);
    });
}

Handler lea_form(const Insn& i)
{
    if (i.nops != 2 || i.op[0].kind != OpKind::Gpr || i.op[1].kind != OpKind::Mem)
        return nullptr;
    return with_size(i.op[0].size, [&]<typename T>() -> Handler { return &lea_to_reg<T>; });
}

Handler imul_form(const Insn& i)
{
    const Operand& s = i.op[1];
    if (i.nops < 2 || i.op[0].kind != OpKind::Gpr || i.op[0].size < 2 || s.size != i.op[0].size ||
        (s.kind != OpKind::Gpr && s.kind != OpKind::Mem))
        return nullptr;
    if (i.nops == 3 && (i.op[2].kind != OpKind::Imm || i.op[2].reg != 0))
        return nullptr;
    bool mem = s.kind == OpKind::Mem;
    return with_size(i.op[0].size, [&]<typename T>() -> Handler {
        if (i.nops == 3)
            return mem ? &imul3<T, Src::Mem> : &imul3<T, Src::Reg>;
        return mem ? &imul2<T, Src::Mem> : &imul2<T, Src::Reg>;
    });
}

Handler shift_form(const Insn& i)
{
    const Operand& n = i.op[1];
    if (i.nops != 2 || i.op[0].kind != OpKind::Gpr || (n.kind != OpKind::Imm && n.kind != OpKind::Gpr) ||
        (n.kind == OpKind::Imm && n.reg != 0))
        return nullptr;
    bool cl = n.kind == OpKind::Gpr;
    return with_size(i.op[0].size, [&]<typename T>() -> Handler {
        return cl ? &shift_reg<T, Src::Reg> : &shift_reg<T, Src::Imm>;
    });
}

template<bool Inc> Handler incdec_form(const Insn& i)
{
    if (i.nops != 1 || i.op[0].kind != OpKind::Gpr)
        return nullptr;
    return with_size(i.op[0].size, [&]<typename T>() -> Handler { return &incdec_reg<Inc, T>; });
}

} // namespace

Handler fast_form(const Insn& i)
{
    if (i.lock || i.fpu || i.nops == 0 || !sized(i.op[0]))
        return nullptr;
    switch (i.mnemonic) {
    case ZYDIS_MNEMONIC_ADD: return binop_form<alu::BinOp::Add>(i);
    case ZYDIS_MNEMONIC_OR: return binop_form<alu::BinOp::Or>(i);
    case ZYDIS_MNEMONIC_ADC: return binop_form<alu::BinOp::Adc>(i);
    case ZYDIS_MNEMONIC_SBB: return binop_form<alu::BinOp::Sbb>(i);
    case ZYDIS_MNEMONIC_AND: return binop_form<alu::BinOp::And>(i);
    case ZYDIS_MNEMONIC_SUB: return binop_form<alu::BinOp::Sub>(i);
    case ZYDIS_MNEMONIC_XOR: return binop_form<alu::BinOp::Xor>(i);
    case ZYDIS_MNEMONIC_CMP: return binop_form<alu::BinOp::Cmp, false>(i);
    case ZYDIS_MNEMONIC_TEST: return binop_form<alu::BinOp::And, false>(i);
    case ZYDIS_MNEMONIC_MOV: return mov_form(i);
    case ZYDIS_MNEMONIC_MOVZX: return extend_form<false>(i);
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD: return extend_form<true>(i);
    case ZYDIS_MNEMONIC_LEA: return lea_form(i);
    case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_JNB:
    case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_JNZ: case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JNBE:
    case ZYDIS_MNEMONIC_JS: case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JNP:
    case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JLE: case ZYDIS_MNEMONIC_JNLE:
        return i.op[0].kind == OpKind::Imm ? kJcc[i.opcode & 0xf] : nullptr;
    case ZYDIS_MNEMONIC_IMUL: return imul_form(i);
    case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR:
    case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR: return shift_form(i);
    case ZYDIS_MNEMONIC_INC: return incdec_form<true>(i);
    case ZYDIS_MNEMONIC_DEC: return incdec_form<false>(i);
    default: return nullptr;
    }
}

} // namespace xkvm::emu

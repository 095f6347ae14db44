// The data-movement and flag-consuming forms: BSWAP, XCHG XADD CMPXCHG, extensions and
// conversions, LEA, SETcc CMOVcc Jcc LOOP, the flag instructions, string instructions, MOV, PUSH/POP,
// ENTER/LEAVE; and the table of all forms.
#include <cstring>

#include "emu/cpu/insn_diff_forms.h"

namespace xkvm::emu::test::insndiff {

void form_bswap(Gen& g) { g.plus_reg_insn(g.coin() ? 32 : 64, { 0x0f, 0xc8 }, g.any_reg()); }

void form_exchange(Gen& g)
{
    const unsigned bits = g.size_8_64();
    switch (g.bits(8) % 3) {
    case 0: g.modrm_insn(bits, { uint8_t(0x86 + wide(bits)) }, g.any_reg(), g.rm_any()); break;
    case 1: g.plus_reg_insn(bits == 8 ? 32 : bits, { 0x90 }, g.any_reg()); break; // 90: NOP
    default: g.modrm_insn(bits, { 0x0f, uint8_t(0xc0 + wide(bits)) }, g.any_reg(), g.rm_any());
    }
}

void form_cmpxchg(Gen& g)
{
    const unsigned bits = g.size_8_64();
    Case& c = g.kase();
    const Rm rm = g.rm_any();
    const bool equal = g.coin();
    if (equal && !rm.mem)
        c.gpr[kRax] = c.gpr[rm.reg];
    g.modrm_insn(bits, { 0x0f, uint8_t(0xb0 + wide(bits)) }, g.any_reg(), rm);
    if (equal && rm.mem)
        std::memcpy(reinterpret_cast<void*>(g.target()), &c.gpr[kRax], 8);
}

// CMPXCHG8B / CMPXCHG16B (0F C7 /1); a misaligned CMPXCHG16B raises #GP in both runs.
void form_cmpxchg_wide(Gen& g)
{
    const bool b16 = g.coin();
    Case& c = g.kase();
    const Rm rm = g.rm_mem();
    g.modrm_insn(b16 ? 64 : 32, { 0x0f, 0xc7 }, 1, rm);
    uint64_t target = g.target();
    if (b16 && g.bits(3) != 0) {
        c.gpr[rm.reg] -= target & 15;
        target -= target & 15;
    }
    if (g.coin()) {
        const uint64_t lo = c.gpr[kRax], hi = c.gpr[kRdx];
        auto* p = reinterpret_cast<uint8_t*>(target);
        std::memcpy(p, &lo, b16 ? 8 : 4);
        std::memcpy(p + (b16 ? 8 : 4), &hi, b16 ? 8 : 4);
    }
}

// MOVZX (0F B6/B7), MOVSX (0F BE/BF), MOVSXD (63).
void form_extend(Gen& g)
{
    static constexpr uint8_t kOps[] = { 0xb6, 0xb7, 0xbe, 0xbf };
    const unsigned bits = g.size_16_64(), kind = unsigned(g.bits(8) % 5);
    if (kind == 4)
        g.modrm_insn(bits, { 0x63 }, g.any_reg(), g.rm_any());
    else
        g.modrm_insn(bits, { 0x0f, kOps[kind] }, g.any_reg(), g.rm_any());
}

// CBW CWDE CDQE (98), CWD CDQ CQO (99).
void form_convert(Gen& g) { g.plain_insn(g.size_16_64(), g.coin() ? 0x98 : 0x99); }

// LEA with any ModRM/SIB/displacement, RIP-relative included, and 32-bit address size.
void form_lea(Gen& g)
{
    const unsigned bits = g.size_16_64(), reg = g.any_reg(), base = g.any_reg(), index = g.any_reg();
    const unsigned mod = unsigned(g.bits(8) % 3);
    g.prefix_size(bits);
    if (g.bits(2) == 0)
        g.put(0x67);
    g.rex(bits, reg, index, base);
    g.put({ 0x8d, uint8_t(mod << 6 | (reg & 7) << 3 | (base & 7)) });
    bool disp32 = mod == 2 || (mod == 0 && (base & 7) == 5);
    if ((base & 7) == 4) {
        const uint8_t sib = uint8_t(g.bits(8));
        g.put(sib);
        disp32 = mod == 2 || (mod == 0 && (sib & 7) == 5);
    }
    if (mod == 1)
        g.imm(1, g.bits(8));
    else if (disp32)
        g.imm(4, g.rand_imm(4));
}

// SETcc, CMOVcc, Jcc rel8/rel32 and LOOP/LOOPE/LOOPNE/JRCXZ: a taken branch skips `mov al, 1`.
void form_condition(Gen& g)
{
    const uint8_t cc = uint8_t(g.bits(4));
    Case& c = g.kase();
    switch (g.bits(8) % 5) {
    case 0: g.modrm_insn(8, { 0x0f, uint8_t(0x90 + cc) }, 0, g.rm_any()); break;
    case 1: g.modrm_insn(g.size_16_64(), { 0x0f, uint8_t(0x40 + cc) }, g.any_reg(), g.rm_any()); break;
    case 2: g.put({ uint8_t(0x70 + cc), 0x02, 0xb0, 0x01 }); break;
    case 3: g.put({ 0x0f, uint8_t(0x80 + cc), 0x02, 0x00, 0x00, 0x00, 0xb0, 0x01 }); break;
    default:
        if (g.coin())
            c.gpr[kRcx] = g.bits(2) | (g.coin() ? 0 : g.rng().next() << 32);
        if (g.bits(2) == 0)
            g.put(0x67); // ECX instead of RCX
        g.put({ uint8_t(0xe0 + (cc & 3)), 0x02, 0xb0, 0x01 });
    }
}

// LAHF SAHF CLC STC CMC CLD STD.
void form_flag_ops(Gen& g)
{
    static constexpr uint8_t kOps[] = { 0x9f, 0x9e, 0xf8, 0xf9, 0xf5, 0xfc, 0xfd };
    g.plain_insn(32, kOps[g.bits(8) % 7]);
}

// MOVS CMPS STOS LODS SCAS with no prefix, REP/REPE or REPNE, both directions, 0-8 elements,
// 64- or 32-bit addressing (the upper halves of RSI/RDI/RCX then random).
void form_string(Gen& g)
{
    static constexpr uint8_t kOps[] = { 0xa4, 0xa6, 0xaa, 0xac, 0xae };
    const uint8_t op = kOps[g.bits(8) % 5];
    const unsigned bits = g.size_8_64();
    const bool compares = op == 0xa6 || op == 0xae, addr32 = g.bits(2) == 0;
    Case& c = g.kase();
    const uint64_t hi = addr32 ? g.rng().next() << 32 : 0;
    const uint64_t src = g.data_target(64), dst = g.data_target(64);
    c.gpr[kRsi] = hi | src;
    c.gpr[kRdi] = hi | dst;
    c.gpr[kRcx] = hi | g.bits(8) % 9;
    if (compares && g.coin()) // equal runs, so that REPE goes on
        std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<void*>(src), 64);
    if (op == 0xae && g.coin())
        std::memset(reinterpret_cast<void*>(dst), int(c.gpr[kRax] & 0xff), 64);
    const unsigned rep = unsigned(g.bits(8) % (compares ? 3 : 2));
    g.prefix_size(bits);
    if (addr32)
        g.put(0x67);
    if (rep)
        g.put(rep == 1 ? 0xf3 : 0xf2);
    g.rex(bits, 0, 0, 0);
    g.put(uint8_t(op + wide(bits)));
}

// MOV r/m,r and r,r/m; B0+r/B8+r with imm8..imm64; C6/C7 with imm (sign-extended imm32 for
// 64-bit); A0-A3 with a 64-bit absolute address.
void form_mov(Gen& g)
{
    const unsigned bits = g.size_8_64();
    const uint8_t w = wide(bits), dir = uint8_t(g.bits(1));
    switch (g.bits(8) % 4) {
    case 0: g.modrm_insn(bits, { uint8_t(0x88 + 2 * dir + w) }, g.any_reg(), g.rm_any()); break;
    case 1: {
        g.plus_reg_insn(bits, { uint8_t(bits == 8 ? 0xb0 : 0xb8) }, g.any_reg());
        const unsigned n = bits == 64 ? 8 : imm_bytes(bits);
        g.imm(n, g.rand_imm(n));
        break;
    }
    case 2:
        g.modrm_insn(bits, { uint8_t(0xc6 + w) }, 0, g.rm_any());
        g.imm(imm_bytes(bits), g.rand_imm(imm_bytes(bits)));
        break;
    default:
        g.plain_insn(bits, uint8_t(0xa0 + 2 * dir + w));
        g.imm(8, g.data_target());
    }
}

// PUSH/POP reg, PUSH imm8/imm, PUSH/POP r/m; 16- and 64-bit.
void form_stack(Gen& g)
{
    const unsigned bits = g.bits(2) == 0 ? 16 : 64;
    switch (g.bits(8) % 6) {
    case 0: g.plus_reg_insn(bits, { 0x50 }, g.any_reg()); break;
    case 1: g.plus_reg_insn(bits, { 0x58 }, g.any_reg()); break;
    case 2:
        g.plain_insn(bits, 0x6a);
        g.imm(1, g.bits(8));
        break;
    case 3:
        g.plain_insn(bits, 0x68);
        g.imm(bits == 16 ? 2 : 4, g.rand_imm(4));
        break;
    case 4: g.modrm_insn(bits, { 0xff }, 6, g.rm_any()); break;
    default: g.modrm_insn(bits, { 0x8f }, 0, g.rm_any());
    }
}

// ENTER size, level (levels up to 7 copy frame pointers from below RBP) and LEAVE.
void form_enter_leave(Gen& g)
{
    const unsigned bits = g.bits(2) == 0 ? 16 : 64;
    Case& c = g.kase();
    c.gpr[kRbp] = g.data_target(64);
    g.prefix_size(bits);
    if (g.coin()) {
        g.put(0xc9);
        return;
    }
    g.put(0xc8);
    g.imm(2, g.bits(6));
    g.imm(1, g.bits(8) % 8);
}

std::vector<Form> forms()
{
    return {
        { "group1 (ADD OR ADC SBB AND SUB XOR CMP)", form_group1, 40 },
        { "TEST", form_test, 10 },
        { "INC DEC NOT NEG", form_unary, 15 },
        { "ROL ROR RCL RCR SHL SHR SAL SAR", form_shift, 60 },
        { "SHLD SHRD", form_double_shift, 20 },
        { "MUL IMUL DIV IDIV", form_muldiv, 30 },
        { "IMUL 2/3 operands", form_imul, 10 },
        { "BT BTS BTR BTC", form_bit_test, 15 },
        { "BSF BSR POPCNT LZCNT TZCNT", form_bit_scan, 10 },
        { "BSWAP", form_bswap, 3 },
        { "XCHG XADD", form_exchange, 10 },
        { "CMPXCHG", form_cmpxchg, 10 },
        { "CMPXCHG8B CMPXCHG16B", form_cmpxchg_wide, 5 },
        { "MOVZX MOVSX MOVSXD", form_extend, 10 },
        { "CBW CWDE CDQE CWD CDQ CQO", form_convert, 3 },
        { "LEA", form_lea, 15 },
        { "SETcc CMOVcc Jcc LOOPcc JRCXZ", form_condition, 30 },
        { "LAHF SAHF CLC STC CMC CLD STD", form_flag_ops, 3 },
        { "MOVS CMPS STOS LODS SCAS", form_string, 20 },
        { "MOV", form_mov, 15 },
        { "PUSH POP", form_stack, 10 },
        { "ENTER LEAVE", form_enter_leave, 5 },
    };
}

} // namespace xkvm::emu::test::insndiff

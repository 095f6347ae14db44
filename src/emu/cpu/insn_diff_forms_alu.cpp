// The arithmetic forms: group 1, TEST, INC DEC NEG NOT, shifts and rotates, SHLD/SHRD, MUL IMUL
// DIV IDIV, the bit tests and scans.
#include <cpuid.h>

#include "emu/cpu/insn_diff_forms.h"

namespace xkvm::emu::test::insndiff {

using alu::kArithFlags;
using alu::kCf;
using alu::kDf;
using alu::kOf;
using alu::kPf;
using alu::kSf;
using alu::kZf;
using alu::difftest::kLogicFlags;
using alu::difftest::kMulFlags;

namespace {

uint64_t shift_flags(unsigned bits, unsigned op, uint8_t count)
{
    using alu::difftest::shift_defined_flags;
    const auto o = alu::ShiftOp(op);
    switch (bits) {
    case 8: return shift_defined_flags<uint8_t>(o, count);
    case 16: return shift_defined_flags<uint16_t>(o, count);
    case 32: return shift_defined_flags<uint32_t>(o, count);
    default: return shift_defined_flags<uint64_t>(o, count);
    }
}

} // namespace

void form_group1(Gen& g)
{
    const unsigned op = unsigned(g.bits(3)), bits = g.size_8_64();
    const uint8_t w = wide(bits);
    g.kase().defined = (op == 1 || op == 4 || op == 6 ? kLogicFlags : kArithFlags) | kDf;
    switch (g.bits(8) % 5) {
    case 0: g.modrm_insn(bits, { uint8_t(op * 8 + w) }, g.any_reg(), g.rm_any()); break;
    case 1: g.modrm_insn(bits, { uint8_t(op * 8 + 2 + w) }, g.any_reg(), g.rm_any()); break;
    case 2:
        g.plain_insn(bits, uint8_t(op * 8 + 4 + w));
        g.imm(imm_bytes(bits), g.rand_imm(imm_bytes(bits)));
        break;
    case 3:
        g.modrm_insn(bits, { uint8_t(0x80 + w) }, op, g.rm_any());
        g.imm(imm_bytes(bits), g.rand_imm(imm_bytes(bits)));
        break;
    default: // 83 /op ib: the imm8 sign-extended
        g.modrm_insn(bits, { uint8_t(bits == 8 ? 0x80 : 0x83) }, op, g.rm_any());
        g.imm(1, g.bits(8));
    }
}

void form_test(Gen& g)
{
    const unsigned bits = g.size_8_64();
    const uint8_t w = wide(bits);
    g.kase().defined = kLogicFlags | kDf;
    switch (g.bits(8) % 3) {
    case 0: g.modrm_insn(bits, { uint8_t(0x84 + w) }, g.any_reg(), g.rm_any()); break;
    case 1:
        g.plain_insn(bits, uint8_t(0xa8 + w));
        g.imm(imm_bytes(bits), g.rand_imm(imm_bytes(bits)));
        break;
    default:
        g.modrm_insn(bits, { uint8_t(0xf6 + w) }, 0, g.rm_any());
        g.imm(imm_bytes(bits), g.rand_imm(imm_bytes(bits)));
    }
}

// INC DEC (FE/FF /0 /1; CF is unaffected, so compared) and NOT NEG (F6/F7 /2 /3).
void form_unary(Gen& g)
{
    const unsigned bits = g.size_8_64(), kind = unsigned(g.bits(2));
    const uint8_t w = wide(bits);
    if (kind < 2)
        g.modrm_insn(bits, { uint8_t(0xfe + w) }, kind, g.rm_any());
    else
        g.modrm_insn(bits, { uint8_t(0xf6 + w) }, kind, g.rm_any());
}

void form_shift(Gen& g)
{
    const unsigned op = unsigned(g.bits(3)), bits = g.size_8_64(), kind = unsigned(g.bits(8) % 3);
    const uint8_t w = wide(bits);
    uint8_t count = 1;
    if (kind == 0) {
        g.modrm_insn(bits, { uint8_t(0xd0 + w) }, op, g.rm_any());
    } else if (kind == 1) {
        Case& c = g.kase();
        g.modrm_insn(bits, { uint8_t(0xd2 + w) }, op, g.rm_any());
        count = uint8_t(c.gpr[kRcx]); // read after the encoder: RCX may be the memory base
    } else {
        count = uint8_t(g.bits(8));
        g.modrm_insn(bits, { uint8_t(0xc0 + w) }, op, g.rm_any());
        g.imm(1, count);
    }
    g.kase().defined = shift_flags(bits, op, count) | kDf;
}

void form_double_shift(Gen& g)
{
    const unsigned bits = g.size_16_64();
    const bool left = g.coin(), by_cl = g.coin();
    uint8_t count = uint8_t(g.bits(8));
    // 16-bit counts above 16 leave result and flags undefined.
    if (bits == 16 && (count & 0x1f) > 16)
        count = uint8_t((count & 0xe0) | (count & 0x1f) % 17);
    Case& c = g.kase();
    c.gpr[kRcx] = (c.gpr[kRcx] & ~0xffull) | count;
    const uint8_t op = uint8_t((left ? 0xa4 : 0xac) + by_cl);
    const unsigned src = g.any_reg();
    g.modrm_insn(bits, { 0x0f, op }, src, g.rm_any());
    if (by_cl)
        count = uint8_t(c.gpr[kRcx]);
    else
        g.imm(1, count);
    const unsigned masked = count & (bits == 64 ? 0x3f : 0x1f);
    if (bits == 16 && masked > 16) {
        c.len = 0; // RCX became a memory base: regenerate
        form_double_shift(g);
        return;
    }
    c.defined = (masked == 0 ? kArithFlags : kCf | kPf | kZf | kSf | (masked == 1 ? kOf : 0)) | kDf;
}

// MUL IMUL DIV IDIV (F6/F7 /4-/7). Half the divisions get a dividend whose high half makes them
// likely to fit; the rest mostly raise #DE.
void form_muldiv(Gen& g)
{
    const unsigned bits = g.size_8_64(), digit = 4 + unsigned(g.bits(2));
    Case& c = g.kase();
    if (digit >= 6 && g.coin()) {
        const bool is_signed = digit == 7;
        if (bits == 8) {
            const uint64_t high = is_signed && (c.gpr[kRax] & 0x80) ? 0xff00 : 0;
            c.gpr[kRax] = (c.gpr[kRax] & ~0xff00ull) | high;
        } else {
            const uint64_t sign = uint64_t(1) << (bits - 1);
            c.gpr[kRdx] = is_signed && (c.gpr[kRax] & sign) ? ~0ull : 0;
        }
    }
    g.modrm_insn(bits, { uint8_t(0xf6 + wide(bits)) }, digit, g.rm_any());
    c.defined = (digit >= 6 ? 0 : kMulFlags) | kDf; // DIV/IDIV leave every flag undefined
}

// IMUL r, r/m (0F AF), r, r/m, imm32 (69) and r, r/m, imm8 (6B).
void form_imul(Gen& g)
{
    const unsigned bits = g.size_16_64(), kind = unsigned(g.bits(8) % 3);
    g.kase().defined = kMulFlags | kDf;
    if (kind == 0) {
        g.modrm_insn(bits, { 0x0f, 0xaf }, g.any_reg(), g.rm_any());
    } else if (kind == 1) {
        g.modrm_insn(bits, { 0x69 }, g.any_reg(), g.rm_any());
        g.imm(imm_bytes(bits), g.rand_imm(imm_bytes(bits)));
    } else {
        g.modrm_insn(bits, { 0x6b }, g.any_reg(), g.rm_any());
        g.imm(1, g.bits(8));
    }
}

// BT BTS BTR BTC. With memory and a register offset the operand lies up to 256 bytes away.
void form_bit_test(Gen& g)
{
    const unsigned bits = g.size_16_64(), op = unsigned(g.bits(2));
    Case& c = g.kase();
    c.defined = kCf | (alu::difftest::host_is_intel() ? kZf : 0) | kDf;
    if (g.coin()) {
        g.modrm_insn(bits, { 0x0f, 0xba }, 4 + op, g.rm_any());
        g.imm(1, g.bits(8));
        return;
    }
    const unsigned offset = g.reg_except({});
    Rm rm = g.rm_any();
    if (rm.mem) {
        rm.reg = g.reg_except({ offset });
        c.gpr[offset] = uint64_t(int64_t(g.bits(12)) - 0x800);
    }
    g.modrm_insn(bits, { 0x0f, uint8_t(0xa3 + 8 * op) }, offset, rm);
}

namespace {

bool host_has(unsigned leaf, unsigned reg, unsigned bit)
{
    unsigned r[4] = {};
    if (!__get_cpuid_count(leaf, 0, &r[0], &r[1], &r[2], &r[3]))
        return false;
    return (r[reg] >> bit) & 1;
}

} // namespace

// BSF BSR, and POPCNT LZCNT TZCNT where the host has them.
void form_bit_scan(Gen& g)
{
    static const bool popcnt = host_has(1, 2, 23), lzcnt = host_has(0x80000001, 2, 5),
                      tzcnt = host_has(7, 1, 3);
    const unsigned bits = g.size_16_64();
    Case& c = g.kase();
    switch (g.bits(8) % 5) {
    case 0:
    case 1:
        c.defined = kZf | kDf; // BSF/BSR: the rest are undefined
        g.modrm_insn(bits, { 0x0f, uint8_t(0xbc + g.bits(1)) }, g.any_reg(), g.rm_any());
        return;
    case 2:
        if (popcnt) {
            g.modrm_insn(bits, { 0x0f, 0xb8 }, g.any_reg(), g.rm_any(), 0xf3);
            return;
        }
        break;
    case 3:
        if (lzcnt) {
            c.defined = kCf | kZf | kDf;
            g.modrm_insn(bits, { 0x0f, 0xbd }, g.any_reg(), g.rm_any(), 0xf3);
            return;
        }
        break;
    default:
        if (tzcnt) {
            c.defined = kCf | kZf | kDf;
            g.modrm_insn(bits, { 0x0f, 0xbc }, g.any_reg(), g.rm_any(), 0xf3);
            return;
        }
    }
    c.defined = kZf | kDf;
    g.modrm_insn(bits, { 0x0f, 0xbc }, g.any_reg(), g.rm_any());
}

} // namespace xkvm::emu::test::insndiff

#include "emu/cpu/insn_diff_gen.h"

#include <cstring>

namespace xkvm::emu::test::insndiff {

using alu::kArithFlags;
using alu::kDf;

Gen::Gen(Rng& rng, Case& c) : m_rng(rng), m_case(c)
{
    for (uint64_t& r : c.gpr)
        r = alu::difftest::operand<uint64_t>(rng);
    // The scratch stack: PUSH, POP, ENTER and LEAVE stay inside the data page.
    c.gpr[kRsp] = kDataAddr + 0x800 + (rng.next() & 0x1f8);
    c.rflags = rng.flags() | (rng.next() & 1 ? kDf : 0);
    c.defined = kArithFlags | kDf;
    c.len = 0;
}

unsigned Gen::reg_except(std::initializer_list<unsigned> avoid)
{
    for (;;) {
        const unsigned r = any_reg();
        bool ok = r != kRsp;
        for (unsigned a : avoid)
            ok = ok && r != a;
        if (ok)
            return r;
    }
}

void Gen::put(uint8_t b)
{
    if (m_case.len < kMaxInsnBytes)
        m_case.bytes[m_case.len++] = b;
}

void Gen::put(std::initializer_list<uint8_t> b)
{
    for (uint8_t x : b)
        put(x);
}

void Gen::imm(unsigned bytes, uint64_t v)
{
    for (unsigned i = 0; i < bytes; ++i)
        put(uint8_t(v >> (8 * i)));
}

uint64_t Gen::rand_imm(unsigned bytes)
{
    const uint64_t v = alu::difftest::operand<uint64_t>(m_rng);
    return bytes == 8 ? v : v & ((1ull << (8 * bytes)) - 1);
}

uint64_t Gen::data_target(unsigned span)
{
    return kDataAddr + 0x100 + m_rng.next() % (0xc00 - span);
}

void Gen::prefix_size(unsigned bits)
{
    if (bits == 16)
        put(0x66);
}

// REX when a bit needs it, and half of the other times too (an empty REX changes AH..BH into
// SPL..DIL, which both runs must agree on).
void Gen::rex(unsigned bits, unsigned reg, unsigned index, unsigned base)
{
    const uint8_t r = uint8_t(0x40 | (bits == 64 ? 8 : 0) | (reg & 8 ? 4 : 0) | (index & 8 ? 2 : 0) |
                              (base & 8 ? 1 : 0));
    if (r != 0x40 || coin())
        put(r);
}

// [base + disp8/disp32], sometimes with a scaled index (a small value), sometimes with a 32-bit
// address size (the base's upper half is then random: it must be ignored). RSP and R12 as a base
// need a SIB byte; RSP as an index means none.
void Gen::memory(unsigned reg, unsigned base, unsigned index, bool addr32, bool locked)
{
    const bool disp8 = coin(), sib = index != kRsp || (base & 7) == 4;
    const int32_t disp = disp8 ? int8_t(bits(8)) : int32_t(bits(9)) - 0x100;
    const unsigned scale = unsigned(bits(2));
    put(uint8_t((disp8 ? 0x40 : 0x80) | (reg & 7) << 3 | (sib ? 4 : base & 7)));
    if (sib)
        put(uint8_t(scale << 6 | (index & 7) << 3 | (base & 7)));
    imm(disp8 ? 1 : 4, uint64_t(int64_t(disp)));
    m_target = data_target();
    if (locked) // a split lock is slowed down or killed by the host kernel (split_lock_detect)
        m_target -= (m_target & 63) > 48 ? (m_target & 63) - 48 : 0;
    uint64_t offset = 0;
    if (index != kRsp) {
        m_case.gpr[index] = bits(5);
        offset = m_case.gpr[index] << scale;
    }
    m_case.gpr[base] = m_target - uint64_t(int64_t(disp)) - offset;
    if (addr32 && base != kRsp) // RSP stays a usable stack pointer for PUSH/POP forms
        m_case.gpr[base] = (m_case.gpr[base] & 0xffffffffull) | m_rng.next() << 32;
}

// LOCK goes on an eighth of the memory forms: where the ISA forbids it both runs must raise #UD.
void Gen::modrm_insn(unsigned bits, std::initializer_list<uint8_t> opcode, unsigned reg, Rm rm,
                     uint8_t mandatory)
{
    const unsigned index = rm.mem && this->bits(2) == 0 ? reg_except({ rm.reg }) : kRsp;
    const bool addr32 = rm.mem && this->bits(2) == 0;
    const uint8_t op0 = *opcode.begin();
    const bool lock = rm.mem && this->bits(3) == 0;
    if (lock)
        put(0xf0);
    prefix_size(bits);
    if (addr32)
        put(0x67);
    if (mandatory)
        put(mandatory);
    rex(bits, reg, index == kRsp ? 0 : index, rm.reg);
    put(opcode);
    if (rm.mem)
        memory(reg, rm.reg, index, addr32, lock || op0 == 0x86 || op0 == 0x87); // XCHG locks too
    else
        put(uint8_t(0xc0 | (reg & 7) << 3 | (rm.reg & 7)));
}

void Gen::plus_reg_insn(unsigned bits, std::initializer_list<uint8_t> opcode, unsigned reg)
{
    prefix_size(bits);
    rex(bits, 0, 0, reg);
    const uint8_t* op = opcode.begin();
    for (size_t i = 0; i + 1 < opcode.size(); ++i)
        put(op[i]);
    put(uint8_t(op[opcode.size() - 1] + (reg & 7)));
}

void Gen::plain_insn(unsigned bits, uint8_t opcode)
{
    prefix_size(bits);
    rex(bits, 0, 0, 0);
    put(opcode);
}

} // namespace xkvm::emu::test::insndiff

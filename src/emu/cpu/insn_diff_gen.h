// Builds the random cases of the instruction-level differential test: an encoder for the ModRM
// forms (random REX and register choices; memory operands as [base+disp] into the data page) and
// the table of instruction forms. Both runs execute the same bytes, so the encoder need not know
// what a register choice means, only keep every address inside the data page.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "emu/cpu/alu_diff_util.h"
#include "emu/cpu/insn_diff_native.h"

namespace xkvm::emu::test::insndiff {

using alu::difftest::Rng;

// An r/m operand: a register, or memory at [base + disp] with the target inside the data page.
struct Rm {
    bool mem = false;
    unsigned reg = 0; // the register, or the base register
};

class Gen {
public:
    Gen(Rng& rng, Case& c);

    Rng& rng() { return m_rng; }
    Case& kase() { return m_case; }
    uint64_t bits(unsigned n) { return m_rng.next() & ((1ull << n) - 1); }
    bool coin() { return m_rng.next() & 1; }
    unsigned size_8_64() { return 8u << bits(2); }
    unsigned size_16_64() { return 16u << (bits(8) % 3); }
    unsigned any_reg() { return unsigned(bits(4)); }
    // A register other than RSP and those in `avoid`.
    unsigned reg_except(std::initializer_list<unsigned> avoid);
    Rm rm_any() { return { coin(), any_reg() }; }
    Rm rm_reg() { return { false, any_reg() }; }
    Rm rm_mem() { return { true, any_reg() }; }

    // [66] [mandatory] [REX] opcode ModRM [SIB] [disp]; `reg` is a register or a /digit.
    void modrm_insn(unsigned bits, std::initializer_list<uint8_t> opcode, unsigned reg, Rm rm,
                    uint8_t mandatory = 0);
    // [66] [REX] opcode+reg (B8+r and friends).
    void plus_reg_insn(unsigned bits, std::initializer_list<uint8_t> opcode, unsigned reg);
    // [66] [REX] opcode, for the forms without ModRM.
    void plain_insn(unsigned bits, uint8_t opcode);
    void prefix_size(unsigned bits);
    void put(std::initializer_list<uint8_t> b);
    void put(uint8_t b);
    void imm(unsigned bytes, uint64_t v);
    uint64_t rand_imm(unsigned bytes);
    // An address inside the data page with room for `span` bytes and 256 bytes either side.
    uint64_t data_target(unsigned span = 16);
    // The address the last memory operand points at.
    uint64_t target() const { return m_target; }

    void rex(unsigned bits, unsigned reg, unsigned index, unsigned base);

private:
    void memory(unsigned reg, unsigned base, unsigned index, bool addr32, bool locked);

    Rng& m_rng;
    Case& m_case;
    uint64_t m_target = 0;
};

// An immediate's bytes at an operand size (imm32 for 64-bit), and the opcode's w bit.
inline unsigned imm_bytes(unsigned bits) { return bits == 8 ? 1 : bits == 16 ? 2 : 4; }
inline uint8_t wide(unsigned bits) { return bits == 8 ? 0 : 1; }

struct Form {
    const char* name;
    void (*make)(Gen& g);
    unsigned weight; // relative number of cases
};

std::vector<Form> forms();

} // namespace xkvm::emu::test::insndiff

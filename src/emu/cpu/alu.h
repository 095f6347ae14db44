// Integer instruction semantics as pure functions: results and the arithmetic flags (CF PF AF ZF
// SF OF) of the x86 integer instructions, for operand types uint8_t, uint16_t, uint32_t and
// uint64_t. No machine state: the interpreter's handlers call these, and the differential test
// (alu_diff_test.cpp) checks them against the host CPU.
//
// Each function updates only the flags the instruction defines in `rflags` and leaves every other
// bit as it was. Flags the SDM leaves undefined get a deterministic value (the one documented
// beside the function).
#pragma once

#include <cstdint>
#include <optional>

namespace xkvm::emu::alu {

inline constexpr uint64_t kCf = 1u << 0;
inline constexpr uint64_t kPf = 1u << 2;
inline constexpr uint64_t kAf = 1u << 4;
inline constexpr uint64_t kZf = 1u << 6;
inline constexpr uint64_t kSf = 1u << 7;
inline constexpr uint64_t kDf = 1u << 10;
inline constexpr uint64_t kOf = 1u << 11;
inline constexpr uint64_t kArithFlags = kCf | kPf | kAf | kZf | kSf | kOf;

// In the order of the opcode's reg field (00-3F opcodes, group 1).
enum class BinOp : uint8_t { Add, Or, Adc, Sbb, And, Sub, Xor, Cmp };
// In the order of group 2's reg field (Sal, /6, is Shl).
enum class ShiftOp : uint8_t { Rol, Ror, Rcl, Rcr, Shl, Shr, Sal, Sar };

// Cmp returns `a` unchanged (the flags are what matter).
// Undefined: AF after And/Or/Xor is cleared.
template<typename T> T binop(BinOp op, T a, T b, uint64_t& rflags);
template<typename T> T inc(T a, uint64_t& rflags);
template<typename T> T dec(T a, uint64_t& rflags);
template<typename T> T neg(T a, uint64_t& rflags);

// `count` as the instruction has it (imm8 or CL); masked to 5 bits (6 for 64-bit) inside. A masked
// count of 0 changes nothing, flags included. Undefined: AF after shifts is cleared; OF for counts
// other than 1 follows the count-1 formula (SHL/SHLD/SHRD: MSB(result) XOR CF or the sign change,
// SHR: MSB(source), SAR: 0, ROL/RCL: MSB(result) XOR CF, ROR/RCR: the two top result bits
// differing); CF of 8/16-bit SHL/SHR by the width or more: the last bit shifted out of the value
// as if widened (so 0 past the width); 16-bit SHLD/SHRD by more than 16 shift the pattern
// dst:src repeated.
template<typename T> T shift(ShiftOp op, T a, uint8_t count, uint64_t& rflags);
template<typename T> T shld(T dst, T src, uint8_t count, uint64_t& rflags);
template<typename T> T shrd(T dst, T src, uint8_t count, uint64_t& rflags);

template<typename T> struct Wide {
    T lo, hi;
};
// MUL and one-operand IMUL: the double-width product. Undefined: SF, ZF, PF follow the low half
// (the truncated product for imul_trunc), AF is cleared.
template<typename T> Wide<T> mul(T a, T b, uint64_t& rflags);
template<typename T> Wide<T> imul(T a, T b, uint64_t& rflags);
// Two- and three-operand IMUL: the truncated product.
template<typename T> T imul_trunc(T a, T b, uint64_t& rflags);

template<typename T> struct DivResult {
    T quotient, remainder;
};
// DIV/IDIV of hi:lo by divisor; nullopt where the CPU raises #DE (divisor 0, quotient too large).
// All six flags are undefined: they are left as they were.
template<typename T> std::optional<DivResult<T>> div(T hi, T lo, T divisor, uint64_t& rflags);
template<typename T> std::optional<DivResult<T>> idiv(T hi, T lo, T divisor, uint64_t& rflags);

// BT/BTS/BTR/BTC on a register-sized value (bit already reduced modulo the width by the caller
// for register operands): CF = the old bit; returns the new value. ZF is kept (Intel: unaffected,
// AMD: undefined), and so are the undefined OF SF AF PF. BSF/BSR/LZCNT/TZCNT likewise leave the
// flags they leave undefined as they were.
enum class BitOp : uint8_t { Bt, Bts, Btr, Btc };
template<typename T> T bit_test(BitOp op, T value, unsigned bit, uint64_t& rflags);
// BSF/BSR: a zero source sets ZF and returns `old_dst` (the destination is left as it was).
template<typename T> T bsf(T src, T old_dst, uint64_t& rflags);
template<typename T> T bsr(T src, T old_dst, uint64_t& rflags);
template<typename T> T popcnt(T src, uint64_t& rflags);
template<typename T> T lzcnt(T src, uint64_t& rflags);
template<typename T> T tzcnt(T src, uint64_t& rflags);
template<typename T> T bswap(T v); // 32- and 64-bit; 16-bit gives 0, 8-bit the value itself

// Jcc/SETcc/CMOVcc: condition code 0-15 (O NO B AE E NE BE A S NS P NP L GE LE G).
bool condition(uint8_t cc, uint64_t rflags);

// Decimal adjust and ASCII adjust (legacy modes only). AL/AH are passed and returned in ax.
// Undefined flags: OF is cleared by all six; after AAA/AAS SF ZF PF follow the new AL; after
// AAM/AAD AF and CF are cleared.
uint16_t daa(uint16_t ax, uint64_t& rflags);
uint16_t das(uint16_t ax, uint64_t& rflags);
uint16_t aaa(uint16_t ax, uint64_t& rflags);
uint16_t aas(uint16_t ax, uint64_t& rflags);
std::optional<uint16_t> aam(uint16_t ax, uint8_t base, uint64_t& rflags); // nullopt: #DE
uint16_t aad(uint16_t ax, uint8_t base, uint64_t& rflags);

} // namespace xkvm::emu::alu

#include "emu/cpu/alu_inline.h"

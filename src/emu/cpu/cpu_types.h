// The interpreter's value types: the pre-decoded instruction, TLB and decode-cache entries,
// descriptors, fault signals and the architectural constants the handlers share. Included
// through cpu_impl.h.
#pragma once

#include <cstdint>

#include "emu/cpu/cpu_state.h"

namespace xkvm::emu {

inline constexpr uint64_t kSizeMasks[16] = { 0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffffull,
    0xffffffffffffull, 0xffffffffffffffull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull };
inline uint64_t size_mask(unsigned size) { return kSizeMasks[size & 15]; } // sizes are 0-8 (10 never reaches here)
inline uint64_t sign_extend(uint64_t v, unsigned size)
{
    unsigned shift = 64 - size * 8;
    return shift ? uint64_t(int64_t(v << shift) >> shift) : v;
}
inline bool canonical(uint64_t a) { return uint64_t(int64_t(a << 16) >> 16) == a; }

// Exception vectors.
enum Vector : uint8_t {
    kDe = 0, kDb = 1, kNmi = 2, kBp = 3, kOfv = 4, kBr = 5, kUd = 6, kNm = 7, kDf = 8,
    kTs = 10, kNp = 11, kSs = 12, kGp = 13, kPf = 14, kMf = 16, kAc = 17,
};

// CpuImpl::m_delivering when no event is being delivered, and while INT n/INT3/INTO deliver (benign
// for #DF purposes, and inside their instruction: an exit there re-executes it).
inline constexpr uint8_t kNotDelivering = 0xff, kSoftwareDelivery = 0xfe;

struct GuestFault {
    uint8_t vector;
    bool has_error;
    uint32_t error;
};
struct ExitSignal {};

inline constexpr uint64_t kRflagsTf = 1u << 8;
inline constexpr uint64_t kRflagsIf = 1u << 9;
inline constexpr uint64_t kRflagsDf = 1u << 10;
inline constexpr uint64_t kRflagsIopl = 3u << 12;
inline constexpr uint64_t kRflagsNt = 1u << 14;
inline constexpr uint64_t kRflagsRf = 1u << 16;
inline constexpr uint64_t kRflagsVm = 1u << 17;
inline constexpr uint64_t kRflagsAc = 1u << 18;
inline constexpr uint64_t kRflagsId = 1u << 21;
inline constexpr uint64_t kCr0Mp = 1u << 1, kCr0Em = 1u << 2, kCr0Ts = 1u << 3, kCr0Ne = 1u << 5;
inline constexpr uint64_t kCr0Am = 1u << 18, kCr0Nw = 1u << 29, kCr0Cd = 1u << 30;
inline constexpr uint64_t kCr4Tsd = 1u << 2, kCr4Pge = 1u << 7, kCr4Osfxsr = 1u << 9;
inline constexpr uint64_t kCr4Umip = 1u << 11, kCr4Smep = 1u << 20, kCr4Smap = 1u << 21;
inline constexpr uint64_t kEferSce = 1u << 0;

enum class OpKind : uint8_t { None, Gpr, GprHigh, Seg, Cr, Dr, Mem, Imm, Ptr };

struct Operand {
    OpKind kind = OpKind::None;
    uint8_t size = 0; // bytes
    uint8_t reg = 0;  // GPR 0-15, segment, CR or DR number
};

inline constexpr int8_t kNoReg = -1;
inline constexpr int8_t kRipReg = 16;

struct MemRef {
    uint8_t seg = SegDs;
    int8_t base = kNoReg;
    int8_t index = kNoReg;
    uint8_t scale = 1;
    int64_t disp = 0;
};

class CpuImpl;
struct Insn;
using Handler = void (*)(CpuImpl&, const Insn&);

// One pre-decoded instruction: everything a handler needs, nothing Zydis-specific.
struct Insn {
    Handler handler = nullptr;
    uint16_t mnemonic = 0;
    uint8_t length = 0;
    uint8_t osize = 0;    // operand size in bytes
    uint8_t asize = 0;    // address size in bytes
    uint8_t rep = 0;      // 0, kRep (REP/REPE), kRepne
    uint8_t seg_override = 0xff;
    bool lock = false;
    bool legacy_map = true; // the one-byte opcode map (not 0F/0F38/0F3A)
    bool rex_w = false;
    uint8_t opcode = 0;     // the last opcode byte (condition codes, near/far forms)
    uint8_t modrm_reg = 0;
    uint8_t fpu = 0;        // kFpuX87 / kFpuSimd: touches state the integer core does not model
    uint8_t nops = 0;
    Operand op[3];
    MemRef mem;
    uint64_t imm = 0;  // the first immediate (sign-extended where the encoding says so), or a target
    uint64_t imm2 = 0; // the second immediate (ENTER) or a far pointer's selector
};
inline constexpr uint8_t kRep = 1, kRepne = 2;
inline constexpr uint8_t kFpuX87 = 1, kFpuSimd = 2;

// Access kinds for the MMU.
enum AccessFlags : uint8_t { kAccRead = 0, kAccWrite = 1, kAccFetch = 2, kAccSystem = 4 };

struct TlbEntry {
    uint64_t tag = 0;       // linear page | 1 while valid
    uint8_t* host = nullptr;
    uint64_t gpa_page = 0;
    uint8_t perm = 0;       // kPerm* bits
    uint8_t allow = 0;      // kAllow* bits: the accesses that may use the entry without a walk
};
// Read/write/fetch for supervisor (bits 0-2) and user (bits 3-5) accesses.
inline constexpr uint8_t kAllowRead = 1, kAllowWrite = 2, kAllowFetch = 4, kAllowUserShift = 3;
inline constexpr uint8_t kPermUser = 1, kPermWrite = 2, kPermNx = 4, kPermDirty = 8;
inline constexpr unsigned kTlbSize = 512;

struct Walk {
    uint64_t gpa = 0; // the 4 KiB frame
    uint8_t perm = 0; // kPerm* bits
};

struct alignas(128) DecodeEntry { // (a power of two: the index scales by a shift)
    uint64_t key = ~0ull; // gpa << 2 | code-size class
    uint64_t bytes[2] = {};
    uint64_t mask[2] = {}; // the bytes that must match: the length, or all Zydis saw for an invalid one
    uint8_t cmp_len = 0;
    Insn insn;
};
inline constexpr unsigned kDecodeCacheSize = 8192;
static_assert(sizeof(DecodeEntry) == 128);

struct Descriptor {
    uint64_t raw = 0, raw_hi = 0;
    uint32_t base() const { return uint32_t((raw >> 16) & 0xffffff) | uint32_t((raw >> 56) << 24); }
    uint32_t limit() const
    {
        uint32_t l = uint32_t(raw & 0xffff) | uint32_t((raw >> 32) & 0xf0000);
        return g() ? (l << 12) | 0xfff : l;
    }
    uint8_t type() const { return (raw >> 40) & 0xf; }
    bool s() const { return (raw >> 44) & 1; }
    uint8_t dpl() const { return (raw >> 45) & 3; }
    bool present() const { return (raw >> 47) & 1; }
    bool l() const { return (raw >> 53) & 1; }
    bool db() const { return (raw >> 54) & 1; }
    bool g() const { return (raw >> 55) & 1; }
    bool is_code() const { return s() && (type() & 8); }
    bool is_data() const { return s() && !(type() & 8); }
};

} // namespace xkvm::emu

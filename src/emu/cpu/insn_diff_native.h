// The host side of the instruction-level differential test: one instruction's bytes run at user
// level inside a generated harness that loads all GPRs and RFLAGS, executes them, and stores the
// GPRs and RFLAGS back. Code, context and data live at fixed low addresses that the emulator maps
// identically, so memory operands and RIP-relative forms mean the same in both runs.
#pragma once

#include <cstdint>
#include <string>

namespace xkvm::emu::test::insndiff {

// Register numbers as the encoding (and Case::gpr) counts them.
inline constexpr unsigned kRax = 0, kRcx = 1, kRdx = 2, kRsp = 4, kRbp = 5, kRsi = 6, kRdi = 7;

inline constexpr uint64_t kCodeAddr = 0xa00000;  // harness prologue
inline constexpr uint64_t kInsnAddr = 0xa00800;  // the instruction under test, then the epilogue
inline constexpr uint64_t kCtxAddr = 0xa01000;   // Context, host only
inline constexpr uint64_t kDataAddr = 0xb00000;  // operands and the scratch stack
inline constexpr uint64_t kDataSize = 0x1000;
inline constexpr unsigned kMaxInsnBytes = 32;

struct Case {
    const char* name = "";
    uint8_t bytes[kMaxInsnBytes] = {};
    unsigned len = 0;
    uint64_t gpr[16] = {};
    uint64_t rflags = 2;
    uint64_t defined = 0; // the flags compared
};

struct Outcome {
    uint64_t gpr[16] = {};
    uint64_t rflags = 0;
    int fault = -1; // the exception vector, or -1
};

class NativeRunner {
public:
    // Maps the pages; false if the fixed addresses are taken (the test then skips).
    bool init();
    ~NativeRunner();
    void run(const Case& c, Outcome& out);
    uint8_t* data() { return reinterpret_cast<uint8_t*>(kDataAddr); }

private:
    void write_prologue();
    static void write_restore(uint64_t at);
    bool m_mapped = false;
};

// "48 01 d8  add rax, rbx"
std::string describe_insn(const Case& c);

} // namespace xkvm::emu::test::insndiff

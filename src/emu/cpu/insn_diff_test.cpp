// Instruction-level differential test: each case is one integer instruction's machine code, run
// natively at user level (insn_diff_native.h) and in the emulator in 64-bit mode at the same
// addresses, from the same GPRs, RFLAGS and data page. Compared: all 16 GPRs, the data page, the
// flags the SDM defines for the case, and whether (and with which exception) it faulted.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "emu/cpu/cpu_test_fixture.h"
#include "emu/cpu/insn_diff_forms.h"

namespace xkvm::emu::test::insndiff {
namespace {

constexpr uint64_t kSeed = 0x1d1ff5eed;
constexpr unsigned kCasesPerWeight = 10000 / alu::difftest::kScale;
constexpr unsigned kMaxReportsPerForm = 10;

// Native runs see #PF, #GP and #SS all as SIGSEGV.
int fault_class(int vector) { return vector == 12 || vector == 14 ? 13 : vector; }

std::string hex(uint64_t v)
{
    char buf[24];
    std::snprintf(buf, sizeof buf, "%" PRIx64, v);
    return buf;
}

class InsnDiff : public CpuTest {
protected:
    void SetUp() override
    {
        if (!m_native.init())
            GTEST_SKIP() << "SKIP: the fixed harness addresses are taken in this process";
        long64();
        // Every exception vector halts at its own address; IST1 keeps the data page untouched.
        for (unsigned v = 0; v < 32; ++v) {
            gate64(uint8_t(v), kHandlers + v, 0, 1);
            bus.ram[kHandlers + v] = 0xf4;
        }
        Rng rng(kSeed ^ 0xda7a);
        for (uint64_t i = 0; i < kDataSize; i += 8) {
            const uint64_t v = rng.next();
            std::memcpy(m_native.data() + i, &v, 8);
        }
    }

    void run_emu(const Case& c, Outcome& out)
    {
        std::memcpy(&bus.ram[kInsnAddr], c.bytes, c.len);
        bus.ram[kInsnAddr + c.len] = 0xf4; // hlt
        EmuState& s = st();
        std::memcpy(s.gpr, c.gpr, sizeof s.gpr);
        s.rflags = c.rflags | 2;
        s.rip = kInsnAddr;
        s.run_state = RunState::Running;
        const CpuExit exit = run(64);
        std::memcpy(out.gpr, s.gpr, sizeof out.gpr);
        out.rflags = s.rflags;
        out.fault = -1;
        if (exit.kind != CpuExit::Kind::Halt)
            out.fault = 100 + int(exit.kind); // no halt: hung or a stray exit
        else if (s.rip != kInsnAddr + c.len + 1)
            out.fault = s.rip > kHandlers && s.rip <= kHandlers + 32 ? int(s.rip - kHandlers - 1) : 99;
    }

    // Runs one case both ways; true if they agree.
    bool run_case(const Case& c, std::string& report, unsigned& faults)
    {
        std::memcpy(&bus.ram[kDataAddr], m_native.data(), kDataSize);
        std::memcpy(m_before, m_native.data(), kDataSize);
        Outcome emu, host;
        run_emu(c, emu);
        m_native.run(c, host);
        const bool faults_agree = fault_class(emu.fault) == host.fault;
        if (faults_agree && host.fault >= 0) {
            ++faults;
            std::memcpy(m_native.data(), m_before, kDataSize); // the emulator pushed a frame: resync
            return true;
        }
        const bool regs = std::memcmp(emu.gpr, host.gpr, sizeof emu.gpr) == 0;
        const bool flags = ((emu.rflags ^ host.rflags) & c.defined) == 0;
        const bool mem = std::memcmp(&bus.ram[kDataAddr], m_native.data(), kDataSize) == 0;
        if (faults_agree && regs && flags && mem)
            return true;
        report = describe(c, host, emu, mem);
        return false;
    }

    std::string describe(const Case& c, const Outcome& host, const Outcome& emu, bool mem)
    {
        static const char* const kNames[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                                "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };
        std::string s = describe_insn(c) + "\n  flags in " + hex(c.rflags) + ", compared " +
                        hex(c.defined) + ", host " + hex(host.rflags) + ", emu " + hex(emu.rflags);
        s += "\n  fault host " + std::to_string(host.fault) + " emu " + std::to_string(emu.fault);
        for (unsigned r = 0; r < 16; ++r) {
            s += "\n  " + std::string(kNames[r]) + " in " + hex(c.gpr[r]) + " host " + hex(host.gpr[r]);
            if (host.gpr[r] != emu.gpr[r])
                s += " emu " + hex(emu.gpr[r]) + "  <--";
        }
        for (uint64_t i = 0; !mem && i < kDataSize; ++i)
            if (bus.ram[kDataAddr + i] != m_native.data()[i]) {
                s += "\n  memory differs first at " + hex(kDataAddr + i) + ": before " +
                     hex(m_before[i]) + " host " + hex(m_native.data()[i]) + " emu " +
                     hex(bus.ram[kDataAddr + i]);
                break;
            }
        return s;
    }

    NativeRunner m_native;
    uint8_t m_before[kDataSize] = {};
};

TEST_F(InsnDiff, IntegerInstructionsAgreeWithTheHost)
{
    std::printf("[ insn-diff ] seed 0x%" PRIx64 "\n", kSeed);
    Rng rng(kSeed);
    uint64_t total = 0, failures = 0;
    for (const Form& form : forms()) {
        const unsigned n = form.weight * kCasesPerWeight;
        unsigned mismatches = 0, faults = 0;
        for (unsigned i = 0; i < n; ++i) {
            Case c;
            Gen g(rng, c);
            form.make(g);
            c.name = form.name;
            std::string report;
            if (run_case(c, report, faults))
                continue;
            if (++mismatches <= kMaxReportsPerForm)
                ADD_FAILURE() << form.name << ": " << report;
        }
        std::printf("[ insn-diff ] %-40s %9u cases (%u faulting in both), %u mismatches\n", form.name, n,
                    faults, mismatches);
        total += n;
        failures += mismatches;
    }
    std::printf("[ insn-diff ] total %" PRIu64 " cases, %" PRIu64 " mismatches\n", total, failures);
    EXPECT_EQ(failures, 0u);
}

} // namespace
} // namespace xkvm::emu::test::insndiff

// Differential test of DAA DAS AAA AAS AAM AAD against the host. They are invalid in 64-bit mode,
// so the host runs them in compatibility mode: a far jump to a 32-bit code segment of our own
// (in the process's LDT, as kernels without IA32 emulation refuse the GDT's) lands on a few bytes
// written below 4 GiB (PUSH ECX; POPFD; op; PUSHFD; POP ECX; JMP FAR back), and a 64-bit stub
// there restores RSP and RBP and returns to the caller. Hosts that refuse it skip the test
// (alu_bcd_test.cpp checks the same instructions by decimal arithmetic everywhere).
#include "emu/cpu/alu.h"

#include <asm/ldt.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "emu/cpu/alu_diff_util.h"

namespace xkvm::emu::alu::difftest {
namespace {

constexpr uint16_t kLdtCode32 = 0 << 3 | 4 | 3; // LDT entry 0, RPL 3
constexpr uint16_t kUser64Cs = 0x33;             // Linux's 64-bit user code selector
constexpr size_t kPage = 4096;
// Layout of the low page: saved RSP, RIP, RBP; the far pointer to the 32-bit code; the 32-bit
// code; the 64-bit return stub; the stack grows down from the end.
constexpr size_t kSavedRsp = 0, kSavedRip = 8, kSavedRbp = 16, kFarPtr = 32;
constexpr size_t kCode32 = 64, kOpOffset = kCode32 + 2, kCode64 = 128;

class CompatRunner {
public:
    CompatRunner()
    {
        void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (p == MAP_FAILED)
            return;
        if (!install_code32()) {
            munmap(p, kPage);
            return;
        }
        m_page = static_cast<uint8_t*>(p);
        const uint32_t base = uint32_t(reinterpret_cast<uintptr_t>(p));
        put32(kFarPtr, base + kCode32);
        put16(kFarPtr + 4, kLdtCode32);
        const uint8_t code32[] = { 0x51, 0x9d, 0x90, 0x90, 0x9c, 0x59, 0xea };
        std::memcpy(m_page + kCode32, code32, sizeof code32);
        put32(kCode32 + sizeof code32, base + kCode64);
        put16(kCode32 + sizeof code32 + 4, kUser64Cs);
        size_t at = kCode64; // mov rsp, [abs]; mov rbp, [abs]; jmp [abs]
        for (auto [modrm, slot] : { std::pair{ 0x24, kSavedRsp }, std::pair{ 0x2c, kSavedRbp } }) {
            const uint8_t mov[] = { 0x48, 0x8b, uint8_t(modrm), 0x25 };
            std::memcpy(m_page + at, mov, 4);
            put32(at + 4, base + uint32_t(slot));
            at += 8;
        }
        const uint8_t jmp[] = { 0xff, 0x24, 0x25 };
        std::memcpy(m_page + at, jmp, 3);
        put32(at + 3, base + kSavedRip);
    }
    ~CompatRunner()
    {
        if (m_page)
            munmap(m_page, kPage);
    }
    CompatRunner(const CompatRunner&) = delete;
    CompatRunner& operator=(const CompatRunner&) = delete;

    bool ready() const { return m_page != nullptr; }

    // Runs `op` (one opcode byte and an immediate or NOP) on AX with the given EFLAGS.
    Outcome run(uint8_t opcode, uint8_t imm, uint16_t ax, uint64_t flags)
    {
        m_page[kOpOffset] = opcode;
        m_page[kOpOffset + 1] = imm;
        uint64_t rax = ax, rcx = flags, rdx = reinterpret_cast<uintptr_t>(m_page);
        // The upper halves of the registers are undefined after compatibility mode: everything
        // but RAX, RCX, RDX (in/out here) and RSP, RBP (restored by the stub) is clobbered.
        asm volatile("lea 1f(%%rip), %%r8\n\t"
                     "mov %%r8, 8(%%rdx)\n\t"
                     "mov %%rsp, 0(%%rdx)\n\t"
                     "mov %%rbp, 16(%%rdx)\n\t"
                     "lea 4096(%%rdx), %%rsp\n\t"
                     "ljmpl *32(%%rdx)\n"
                     "1:"
                     : "+a"(rax), "+c"(rcx), "+d"(rdx)
                     :
                     : "rbx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                       "memory", "cc");
        return { uint16_t(rax), 0, uint32_t(rcx) };
    }

private:
    // A flat 4 GiB, 32-bit, present code segment at LDT entry 0.
    static bool install_code32()
    {
        user_desc d = {};
        d.entry_number = 0;
        d.limit = 0xfffff;
        d.limit_in_pages = 1;
        d.seg_32bit = 1;
        d.contents = MODIFY_LDT_CONTENTS_CODE;
        d.useable = 1;
        return syscall(SYS_modify_ldt, 1, &d, sizeof d) == 0;
    }
    void put32(size_t at, uint32_t v) { std::memcpy(m_page + at, &v, 4); }
    void put16(size_t at, uint16_t v) { std::memcpy(m_page + at, &v, 2); }
    uint8_t* m_page = nullptr;
};

constexpr uint8_t kNop = 0x90;

// Whether the kernel runs 32-bit code for us at all (some refuse far jumps to LDT code segments,
// e.g. under some hypervisors): tried in a child, which may crash.
bool compat_mode_works()
{
    const pid_t pid = fork();
    if (pid == 0) {
        // A refused far jump is a #GP: leave quietly rather than with a sanitizer report.
        struct sigaction quiet = {};
        quiet.sa_handler = [](int) { _exit(2); };
        sigaction(SIGSEGV, &quiet, nullptr);
        sigaction(SIGBUS, &quiet, nullptr);
        CompatRunner runner;
        // Known answers (not the ALU's): DAA of 0x0F is 0x15 with AF set; AAM 10 of 79.
        const bool daa_ok = runner.ready() && runner.run(0x27, kNop, 0x0f, 2).r0 == 0x15 &&
                            (runner.run(0x27, kNop, 0x0f, 2).flags & (kAf | kCf)) == kAf;
        _exit(daa_ok && runner.run(0xd4, 10, 79, 2).r0 == 0x0709 ? 0 : 1);
    }
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

using AdjustFn = uint16_t (*)(uint16_t, uint64_t&);

void adjust_cases(Checker& ck, CompatRunner& host, const char* name, uint8_t opcode, AdjustFn fn,
                  uint64_t defined, Rng& rng)
{
    const bool al_only = opcode == 0x27 || opcode == 0x2f; // DAA/DAS: AH is a bystander
    // The current SDM adjusts AAA/AAS through all of AX (AX + 106H; AX - 6, AH - 1); older
    // descriptions adjust AL and AH apart. Off Intel, skip the ALs where the readings differ
    // (AL + 6 or AL - 6 wrapping), which no decimal arithmetic produces.
    const bool intel = host_is_intel();
    for (unsigned i = 0; i < 0x10000; ++i)
        for (uint64_t cf_af : { uint64_t(0), kCf, kAf, kCf | kAf }) {
            const unsigned ax = al_only ? (i & 0xff) | (rng.next() & 0xff00) : i;
            const unsigned al = ax & 0xff;
            if (!intel && ((opcode == 0x37 && al >= 0xfa) || (opcode == 0x3f && al < 6)))
                continue;
            const uint64_t flags = (rng.flags() & ~(kCf | kAf)) | cf_af;
            uint64_t f = flags;
            const uint16_t r = fn(uint16_t(ax), f);
            ck.check(name, 8, { ax }, flags, host.run(opcode, kNop, uint16_t(ax), flags),
                     { r, 0, f }, defined);
        }
}

TEST(AluDiff, DecimalAdjustInCompatibilityMode)
{
    if (!compat_mode_works())
        GTEST_SKIP() << "SKIP: this host runs no 32-bit code for us (a far jump to a 32-bit "
                        "LDT code segment is refused); alu_bcd_test covers DAA..AAD";
    CompatRunner host;
    ASSERT_TRUE(host.ready());
    Checker ck("DAA DAS AAA AAS AAM AAD");
    Rng rng(30);
    adjust_cases(ck, host, "DAA", 0x27, daa, kCf | kAf | kSf | kZf | kPf, rng);
    adjust_cases(ck, host, "DAS", 0x2f, das, kCf | kAf | kSf | kZf | kPf, rng);
    adjust_cases(ck, host, "AAA", 0x37, aaa, kCf | kAf, rng);
    adjust_cases(ck, host, "AAS", 0x3f, aas, kCf | kAf, rng);
    for (unsigned i = 0; i < scaled(200000); ++i) {
        const uint16_t ax = uint16_t(rng.next());
        const uint8_t base = uint8_t(i < 256 ? i : rng.next());
        const uint64_t flags = rng.flags();
        uint64_t f = flags;
        const auto r = aam(ax, base, f);
        if (base == 0) { // #DE: checked against the SDM only, the host is not made to fault
            EXPECT_FALSE(r.has_value());
        } else {
            ck.check("AAM", 8, { ax, base }, flags, host.run(0xd4, base, ax, flags),
                     { r.value_or(0), 0, f }, kSf | kZf | kPf);
        }
        f = flags;
        const uint16_t d = aad(ax, base, f);
        ck.check("AAD", 8, { ax, base }, flags, host.run(0xd5, base, ax, flags), { d, 0, f },
                 kSf | kZf | kPf);
    }
}

} // namespace
} // namespace xkvm::emu::alu::difftest

#include "emu/cpu/insn_diff_native.h"

#include <Zydis/Zydis.h>
#include <signal.h>
#include <ucontext.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>

namespace xkvm::emu::test::insndiff {
namespace {

// Context block layout (host only).
constexpr uint32_t kCtxIn = 0x000, kCtxFlagsIn = 0x080, kCtxOut = 0x100, kCtxFlagsOut = 0x180;
constexpr uint32_t kCtxHostRsp = 0x188, kCtxStackTop = 0x400;

class Emitter {
public:
    explicit Emitter(uint64_t at) : m_p(reinterpret_cast<uint8_t*>(at)), m_at(at) {}
    void put(std::initializer_list<uint8_t> b)
    {
        for (uint8_t x : b)
            m_p[m_n++] = x;
    }
    void imm32(uint32_t v)
    {
        std::memcpy(m_p + m_n, &v, 4);
        m_n += 4;
    }
    // MOV between r64 and [abs32]: `opcode` 8B loads, 89 stores.
    void mov_abs(uint8_t opcode, unsigned reg, uint32_t addr)
    {
        put({ uint8_t(0x48 | (reg & 8 ? 4 : 0)), opcode, uint8_t(0x04 | (reg & 7) << 3), 0x25 });
        imm32(addr);
    }
    void rsp_to_private_stack()
    {
        put({ 0x48, 0xc7, 0xc4 }); // mov rsp, imm32
        imm32(uint32_t(kCtxAddr + kCtxStackTop));
    }
    uint64_t here() const { return m_at + m_n; }

private:
    uint8_t* m_p;
    uint64_t m_at;
    unsigned m_n = 0;
};

constexpr uint64_t kRecoverAddr = kCodeAddr + 0x400; // the epilogue's tail, after a fault
volatile int g_signal = 0;
volatile bool g_in_native = false;
constexpr int kSignals[] = { SIGFPE, SIGSEGV, SIGBUS, SIGILL };
constexpr unsigned kSignalCount = sizeof kSignals / sizeof kSignals[0];
struct sigaction g_old_actions[kSignalCount];

// Resumes the harness at its recovery tail instead of unwinding with siglongjmp, which is cheap
// and leaves the sanitizers' view of the stack alone.
void on_fault(int sig, siginfo_t*, void* context)
{
    if (!g_in_native) {
        // Not the instruction under test: a real crash, reported as usual.
        for (unsigned i = 0; i < kSignalCount; ++i)
            sigaction(kSignals[i], &g_old_actions[i], nullptr);
        return; // re-executes the faulting instruction under the old handler
    }
    g_signal = sig;
    auto* uc = static_cast<ucontext_t*>(context);
    uc->uc_mcontext.gregs[REG_RIP] = greg_t(kRecoverAddr);
    uc->uc_mcontext.gregs[REG_EFL] &= ~greg_t(0x400); // DF: the ABI wants it clear
}

int vector_of(int sig)
{
    switch (sig) {
    case SIGFPE: return 0;
    case SIGILL: return 6;
    default: return 13; // SIGSEGV/SIGBUS: #GP, #SS or #PF alike
    }
}

uint8_t g_alt_stack[64 * 1024];

} // namespace

bool NativeRunner::init()
{
    void* code = mmap(reinterpret_cast<void*>(kCodeAddr), 0x2000, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (code != reinterpret_cast<void*>(kCodeAddr))
        return false;
    void* data = mmap(reinterpret_cast<void*>(kDataAddr), kDataSize, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (data != reinterpret_cast<void*>(kDataAddr)) {
        munmap(code, 0x2000);
        return false;
    }
    m_mapped = true;
    write_prologue();
    // The faulting instruction runs on the scratch stack; the handler must not.
    stack_t ss = {};
    ss.ss_sp = g_alt_stack;
    ss.ss_size = sizeof g_alt_stack;
    sigaltstack(&ss, nullptr);
    struct sigaction action = {};
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (unsigned i = 0; i < kSignalCount; ++i)
        sigaction(kSignals[i], &action, &g_old_actions[i]);
    return true;
}

NativeRunner::~NativeRunner()
{
    if (!m_mapped)
        return;
    for (unsigned i = 0; i < kSignalCount; ++i)
        sigaction(kSignals[i], &g_old_actions[i], nullptr);
    munmap(reinterpret_cast<void*>(kCodeAddr), 0x2000);
    munmap(reinterpret_cast<void*>(kDataAddr), kDataSize);
}

// Saves the callee-saved registers and RSP, loads RFLAGS from a private stack, then every GPR
// (RSP last) and jumps to the instruction.
void NativeRunner::write_prologue()
{
    Emitter e(kCodeAddr);
    e.put({ 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57 }); // push rbx..r15
    e.mov_abs(0x89, kRsp, uint32_t(kCtxAddr + kCtxHostRsp));
    e.rsp_to_private_stack();
    e.put({ 0xff, 0x34, 0x25 }); // push qword [abs32]
    e.imm32(uint32_t(kCtxAddr + kCtxFlagsIn));
    e.put({ 0x9d }); // popfq
    for (unsigned r = 0; r < 16; ++r)
        if (r != kRsp)
            e.mov_abs(0x8b, r, uint32_t(kCtxAddr + kCtxIn + 8 * r));
    e.mov_abs(0x8b, kRsp, uint32_t(kCtxAddr + kCtxIn + 8 * kRsp));
    e.put({ 0xe9 });
    e.imm32(uint32_t(kInsnAddr - (e.here() + 4)));
    write_restore(kRecoverAddr);
}

// Back to the host's stack and callee-saved registers, and return to the caller.
void NativeRunner::write_restore(uint64_t at)
{
    Emitter e(at);
    e.put({ 0xfc }); // cld: the ABI wants DF clear
    e.mov_abs(0x8b, kRsp, uint32_t(kCtxAddr + kCtxHostRsp));
    e.put({ 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3 });
}

void NativeRunner::run(const Case& c, Outcome& out)
{
    std::memcpy(reinterpret_cast<void*>(kInsnAddr), c.bytes, c.len);
    // Epilogue: store every GPR, RFLAGS through the private stack, restore the host's state.
    Emitter e(kInsnAddr + c.len);
    for (unsigned r = 0; r < 16; ++r)
        e.mov_abs(0x89, r, uint32_t(kCtxAddr + kCtxOut + 8 * r));
    e.rsp_to_private_stack();
    e.put({ 0x9c, 0x8f, 0x04, 0x25 }); // pushfq; pop qword [abs32]
    e.imm32(uint32_t(kCtxAddr + kCtxFlagsOut));
    write_restore(e.here());

    auto* ctx = reinterpret_cast<uint64_t*>(kCtxAddr);
    std::memcpy(ctx + kCtxIn / 8, c.gpr, sizeof c.gpr);
    ctx[kCtxFlagsIn / 8] = c.rflags;

    g_signal = 0;
    g_in_native = true;
    reinterpret_cast<void (*)()>(kCodeAddr)();
    g_in_native = false;
    out.fault = g_signal ? vector_of(g_signal) : -1;
    std::memcpy(out.gpr, ctx + kCtxOut / 8, sizeof out.gpr);
    out.rflags = ctx[kCtxFlagsOut / 8];
}

std::string describe_insn(const Case& c)
{
    std::string s;
    char buf[8];
    for (unsigned i = 0; i < c.len; ++i) {
        std::snprintf(buf, sizeof buf, "%02x ", c.bytes[i]);
        s += buf;
    }
    ZydisDisassembledInstruction insn;
    if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, kInsnAddr, c.bytes, c.len,
                                           &insn)))
        s += std::string(" ") + insn.text;
    return s;
}

} // namespace xkvm::emu::test::insndiff

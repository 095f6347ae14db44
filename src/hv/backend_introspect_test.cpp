// Introspection through the hv:: interface on each backend: page limits, intercepted instructions
// and how a monitor's answer finishes them, with raw 32-bit code run by the vCPU runner. A backend
// that does not offer a feature must refuse it (ENOSYS) and say so in its caps.
#include <gtest/gtest.h>

#include <vector>

#include "hv/backend_test_fixture.h"

using namespace xkvm;
using namespace xkvm::hv;
using namespace xkvm::hv::test;
using namespace std::chrono_literals;

namespace {

using What = IntrospectExit::What;

// Port writes as PortHandler does; Introspect exits recorded and answered by `answer`.
struct IntrospectHandler : ExitHandler {
    std::mutex lock;
    std::condition_variable cv;
    std::vector<IntrospectExit> seen;
    std::vector<uint64_t> rips; // RIP at each Introspect exit
    std::function<InterceptFinish(Vcpu&, const IntrospectExit&)> answer;
    unsigned prints = 0;
    bool done = false;
    std::string unexpected;

    ExitOutcome handle_exit(ExitContext& ctx) override
    {
        std::unique_lock g(lock);
        cv.notify_all();
        if (ctx.exit.kind == Exit::Kind::Introspect) {
            seen.push_back(ctx.exit.introspect);
            rips.push_back(ctx.vcpu.regs()->rip);
            InterceptFinish how = answer ? answer(ctx.vcpu, ctx.exit.introspect) : InterceptFinish::Skip;
            if (auto st = ctx.vcpu.finish_intercept(how); !st)
                unexpected += st.error().message;
            return ExitOutcome::Resume;
        }
        if (ctx.exit.kind == Exit::Kind::PortIo && ctx.exit.io.port == kPrintPort) {
            ++prints;
            return ExitOutcome::Resume;
        }
        if (ctx.exit.kind != Exit::Kind::PortIo || ctx.exit.io.port != kDonePort)
            unexpected += fmt::format("[exit {} {}]", static_cast<int>(ctx.exit.kind), ctx.exit.detail);
        done = true;
        return ExitOutcome::Shutdown;
    }

    bool wait_for(const std::function<bool()>& pred)
    {
        std::unique_lock l(lock);
        return cv.wait_for(l, 10s, pred);
    }
};

struct IntrospectBackend : BackendFixture {
    IntrospectionCaps caps;

    void SetUp() override
    {
        BackendFixture::SetUp();
        if (!IsSkipped() && vm)
            caps = vm->introspection_caps();
    }

    // Runs the loaded code until the done port; the exits it saw.
    void run_to_done(IntrospectHandler& h)
    {
        VcpuRunner runner(*vcpu, h, 0);
        runner.start();
        ASSERT_TRUE(h.wait_for([&] { return h.done; }));
        runner.stop();
        if (GetParam() == Accel::Kvm && host_kvm_cannot_emulate(h.unexpected))
            GTEST_SKIP() << kHostKvmCannotEmulate << ": " << h.unexpected;
        EXPECT_EQ(h.unexpected, "");
    }

    uint32_t read32(uint64_t gpa)
    {
        uint32_t v = 0;
        EXPECT_TRUE(mem->read(gpa, std::span(reinterpret_cast<uint8_t*>(&v), 4)));
        return v;
    }
};

TEST_P(IntrospectBackend, ReadWriteAndExecLimitsEachReportTheirAccess)
{
    if (caps.page_access != kAccessAll) {
        // What the backend cannot take away it refuses, whatever else it can.
        auto enosys = [](const Status& st) { return !st && st.error().code == ENOSYS; };
        EXPECT_TRUE(enosys(vm->set_page_access(0x3000, 0x1000, kAccessWrite | kAccessExec)));
        EXPECT_TRUE(enosys(vm->set_page_access(0x3000, 0x1000, kAccessRead | kAccessWrite)));
        return;
    }
    // mov eax,[0x3000] ; mov [0x4000],eax ; jmp 0x5000 | at 0x5000: out 0xf4,al
    load({ 0xa1, 0x00, 0x30, 0x00, 0x00, 0xa3, 0x00, 0x40, 0x00, 0x00, 0xe9, 0xf1, 0x3f, 0x00, 0x00 });
    std::vector<uint8_t> tail = { 0xe6, 0xf4 };
    ASSERT_TRUE(mem->write(0x5000, tail));
    std::vector<uint8_t> value = { 0x78, 0x56, 0x34, 0x12 };
    ASSERT_TRUE(mem->write(0x3000, value));
    ASSERT_TRUE(vm->set_page_access(0x3000, 0x1000, kAccessWrite | kAccessExec));
    ASSERT_TRUE(vm->set_page_access(0x4000, 0x1000, kAccessRead | kAccessExec));
    ASSERT_TRUE(vm->set_page_access(0x5000, 0x1000, kAccessRead | kAccessWrite));
    IntrospectHandler h;
    h.answer = [](Vcpu&, const IntrospectExit&) { return InterceptFinish::Execute; };
    run_to_done(h);
    ASSERT_EQ(h.seen.size(), 3u);
    const uint64_t gpas[] = { 0x3000, 0x4000, 0x5000 };
    const uint8_t access[] = { kAccessRead, kAccessWrite, kAccessExec };
    const uint64_t rips[] = { 0x1000, 0x1005, 0x5000 };
    for (unsigned k = 0; k < 3; ++k) {
        EXPECT_EQ(h.seen[k].what, What::MemAccess);
        EXPECT_EQ(h.seen[k].gpa, gpas[k]);
        EXPECT_EQ(h.seen[k].access, access[k]);
        EXPECT_EQ(h.rips[k], rips[k]);
    }
    EXPECT_EQ(h.seen[0].insn_len, 5);
    EXPECT_EQ(h.seen[2].insn_len, 2);
    EXPECT_EQ(read32(0x4000), 0x12345678u);
}

// On KVM a write to a write-limited page exits once KVM's emulator retired the instruction: the
// written bytes wait, RIP is past it, and neither its length nor its linear address is known.
TEST_P(IntrospectBackend, WriteLimitExecuteLandsTheWrite)
{
    if (!(caps.page_access & kAccessWrite))
        return;
    // mov eax,0x12345678 ; mov [0x4000],eax ; out 0xf4,al
    load({ 0xb8, 0x78, 0x56, 0x34, 0x12, 0xa3, 0x00, 0x40, 0x00, 0x00, 0xe6, 0xf4 });
    ASSERT_TRUE(vm->set_page_access(0x4000, 0x1000, kAccessRead | kAccessExec));
    IntrospectHandler h;
    h.answer = [](Vcpu&, const IntrospectExit&) { return InterceptFinish::Execute; };
    run_to_done(h);
    ASSERT_EQ(h.seen.size(), 1u);
    EXPECT_EQ(h.seen[0].what, What::MemAccess);
    EXPECT_EQ(h.seen[0].access, kAccessWrite);
    EXPECT_EQ(h.seen[0].gpa, 0x4000u);
    EXPECT_EQ(h.rips[0], GetParam() == Accel::Kvm ? 0x100au : 0x1005u);
    EXPECT_EQ(h.seen[0].insn_len, GetParam() == Accel::Kvm ? 0 : 5);
    EXPECT_EQ(read32(0x4000), 0x12345678u);
}

TEST_P(IntrospectBackend, SkipLeavesAWriteLimitedPageUnchangedAndRetryAsksAgain)
{
    if (!(caps.page_access & kAccessWrite))
        return; // (refusal checked above)
    const bool kvm = GetParam() == Accel::Kvm;
    // mov dword [0x3000],0x1234 ; out 0xf4,al
    load({ 0xc7, 0x05, 0x00, 0x30, 0x00, 0x00, 0x34, 0x12, 0x00, 0x00, 0xe6, 0xf4 });
    ASSERT_TRUE(vm->set_page_access(0x3000, 0x1000, kAccessRead | kAccessExec));
    IntrospectHandler h;
    h.answer = [&](Vcpu&, const IntrospectExit&) {
        return h.seen.size() < 3 ? InterceptFinish::Retry : InterceptFinish::Skip;
    };
    run_to_done(h);
    ASSERT_EQ(h.seen.size(), 3u);
    for (const IntrospectExit& x : h.seen) {
        EXPECT_EQ(x.gpa, 0x3000u);
        EXPECT_EQ(x.gla, kvm ? 0 : 0x3000u);
        EXPECT_EQ(x.gla_valid, !kvm);
        EXPECT_EQ(x.access, kAccessWrite);
        EXPECT_EQ(x.insn_len, kvm ? 0 : 10);
    }
    EXPECT_EQ(read32(0x3000), 0u);
}

TEST_P(IntrospectBackend, EveryInterceptReportsItsInstruction)
{
    if (!caps.breakpoints || caps.cr_writes != 0x19 || !caps.descriptor_access || !caps.msr_writes) {
        Intercepts all;
        all.breakpoints = all.descriptor_access = true;
        all.cr_writes = 0x19;
        EXPECT_FALSE(vcpu->set_intercepts(all));
        return;
    }
    // int3 ; mov cr4,eax ; mov ecx,0xc0000082 ; wrmsr ; sidt [0x3100] ; lgdt [0x3100] ; out 0xf4,al
    load({ 0xcc, 0x0f, 0x22, 0xe0, 0xb9, 0x82, 0x00, 0x00, 0xc0, 0x0f, 0x30, 0x0f, 0x01, 0x0d, 0x00, 0x31, 0x00,
           0x00, 0x0f, 0x01, 0x15, 0x00, 0x31, 0x00, 0x00, 0xe6, 0xf4 });
    Intercepts in;
    in.breakpoints = in.descriptor_access = true;
    in.cr_writes = 1u << 4;
    in.msr_writes = { 0xc0000082 };
    ASSERT_TRUE(vcpu->set_intercepts(in));
    auto regs = vcpu->regs().release_value();
    regs.gpr[x86::Rax] = 0x20; // CR4.PAE
    ASSERT_TRUE(vcpu->set_regs(regs));
    IntrospectHandler h;
    run_to_done(h); // every one skipped
    ASSERT_EQ(h.seen.size(), 5u);
    EXPECT_EQ(h.seen[0].what, What::Breakpoint);
    EXPECT_EQ(h.seen[1].what, What::CrWrite);
    EXPECT_EQ(h.seen[1].index, 4u);
    EXPECT_EQ(h.seen[1].new_value, 0x20u);
    EXPECT_EQ(h.seen[2].what, What::MsrWrite);
    EXPECT_EQ(h.seen[2].index, 0xc0000082u);
    EXPECT_EQ(h.seen[3].what, What::Descriptor);
    EXPECT_EQ(h.seen[3].table, IntrospectExit::Table::Idtr);
    EXPECT_FALSE(h.seen[3].table_write);
    EXPECT_EQ(h.seen[4].table, IntrospectExit::Table::Gdtr);
    EXPECT_TRUE(h.seen[4].table_write);
    const uint64_t rips[] = { 0x1000, 0x1001, 0x1009, 0x100b, 0x1012 };
    const uint8_t lens[] = { 1, 3, 2, 7, 7 };
    for (unsigned k = 0; k < 5; ++k) {
        EXPECT_EQ(h.rips[k], rips[k]);
        EXPECT_EQ(h.seen[k].insn_len, lens[k]);
    }
    EXPECT_EQ(vcpu->cpu_state()->cr4 & 0x20, 0u); // the skipped write never happened
}

// INT3 and WRMSR, the intercepts every backend with them reports alike (KVM has no CR or
// descriptor-table exits); Execute writes the MSR.
TEST_P(IntrospectBackend, BreakpointAndMsrWriteIntercepts)
{
    if (!caps.breakpoints || !caps.msr_writes)
        return;
    constexpr uint32_t kLstar = 0xc0000082;
    // int3 ; mov ecx,LSTAR ; mov eax,0x1000 ; xor edx,edx ; wrmsr ; wrmsr ; xor eax,eax ; rdmsr ;
    // mov [0x3000],eax ; out 0xf4,al
    load({ 0xcc, 0xb9, 0x82, 0x00, 0x00, 0xc0, 0xb8, 0x00, 0x10, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0x0f, 0x30,
           0x31, 0xc0, 0x0f, 0x32, 0xa3, 0x00, 0x30, 0x00, 0x00, 0xe6, 0xf4 });
    Intercepts in;
    in.breakpoints = true;
    in.msr_writes = { kLstar };
    ASSERT_TRUE(vcpu->set_intercepts(in));
    IntrospectHandler h;
    h.answer = [&](Vcpu&, const IntrospectExit&) { // skip the first WRMSR, execute the second
        return h.seen.size() == 3 ? InterceptFinish::Execute : InterceptFinish::Skip;
    };
    run_to_done(h);
    if (IsSkipped())
        return;
    ASSERT_EQ(h.seen.size(), 3u);
    EXPECT_EQ(h.seen[0].what, What::Breakpoint);
    EXPECT_EQ(h.seen[0].insn_len, 1);
    EXPECT_EQ(h.rips[0], 0x1000u);
    for (unsigned k : { 1u, 2u }) {
        EXPECT_EQ(h.seen[k].what, What::MsrWrite);
        EXPECT_EQ(h.seen[k].index, kLstar);
        EXPECT_EQ(h.seen[k].old_value, 0u); // as at reset: the skipped write left it alone
        EXPECT_EQ(h.seen[k].new_value, 0x1000u);
        EXPECT_EQ(h.seen[k].insn_len, 2);
    }
    EXPECT_EQ(h.rips[1], 0x100du);
    EXPECT_EQ(h.rips[2], 0x100fu);
    EXPECT_EQ(read32(0x3000), 0x1000u); // the guest reads back what the executed write wrote
}

TEST_P(IntrospectBackend, LimitsSetFromAnotherThreadStopARunningVcpu)
{
    if (!(caps.page_access & kAccessWrite))
        return;
    // loop: inc dword [0x3000] ; out 0xe9,al ; jmp loop
    load({ 0xff, 0x05, 0x00, 0x30, 0x00, 0x00, 0xe6, 0xe9, 0xeb, 0xf6 });
    IntrospectHandler h;
    uint32_t at_exit = 0;
    unsigned prints_at_exit = 0;
    h.answer = [&](Vcpu&, const IntrospectExit&) { // (under h.lock)
        at_exit = read32(0x3000);
        prints_at_exit = h.prints;
        EXPECT_TRUE(vm->set_page_access(0x3000, 0x1000, kAccessAll)); // lifted from the vCPU thread
        return InterceptFinish::Retry;
    };
    VcpuRunner runner(*vcpu, h, 0);
    runner.start();
    ASSERT_TRUE(h.wait_for([&] { return h.prints >= 3; }));
    ASSERT_TRUE(vm->set_page_access(0x3000, 0x1000, kAccessRead | kAccessExec));
    ASSERT_TRUE(h.wait_for([&] { return !h.seen.empty(); }));
    {
        std::lock_guard g(h.lock);
        EXPECT_EQ(h.seen[0].access, kAccessWrite);
        EXPECT_EQ(h.rips[0], GetParam() == Accel::Kvm ? 0x1006u : 0x1000u); // (KVM: after the write)
    }
    ASSERT_TRUE(h.wait_for([&] { return h.prints >= prints_at_exit + 3; }));
    runner.stop();
    EXPECT_EQ(h.seen.size(), 1u);
    EXPECT_EQ(at_exit, prints_at_exit); // one increment per print, none while limited
    EXPECT_GT(read32(0x3000), at_exit);
    EXPECT_EQ(h.unexpected, "");
}

TEST_P(IntrospectBackend, HostileLimitsAndAnswersAreRefused)
{
    if (caps.page_access == 0)
        return;
    auto einval = [](const Status& s) { return !s && s.error().code == EINVAL; };
    EXPECT_TRUE(einval(vm->set_page_access(0x3001, 0x1000, kAccessRead)));        // unaligned
    EXPECT_TRUE(einval(vm->set_page_access(0x3000, 0x800, kAccessRead)));         // partial page
    EXPECT_TRUE(einval(vm->set_page_access(0x3000, 0, kAccessRead)));             // empty
    EXPECT_TRUE(einval(vm->set_page_access(0x3000, 0x1000, 0x8)));                // unknown bits
    EXPECT_TRUE(einval(vm->set_page_access(0x1ff000, 0x2000, kAccessRead)));      // runs past RAM
    EXPECT_TRUE(einval(vm->set_page_access(0x10000000, 0x1000, kAccessRead)));    // no RAM there
    EXPECT_TRUE(einval(vm->set_page_access(0, 1ull << 62, kAccessRead)));         // huge
    EXPECT_TRUE(einval(vm->set_page_access(~0xfffull, 0x2000, kAccessRead)));     // wraps
    EXPECT_TRUE(vm->set_page_access(0, 2 * memory::MiB, kAccessAll));             // all of RAM: fine
    Intercepts bad;
    bad.cr_writes = 1u << 2;
    EXPECT_TRUE(einval(vcpu->set_intercepts(bad)));
    EXPECT_TRUE(einval(vcpu->finish_intercept(InterceptFinish::Skip))); // no exit to finish
}

// translate() follows the guest's own tables (32-bit paging, not identity mapped) and leaves no
// accessed bits behind, on either backend.
TEST_P(IntrospectBackend, TranslateWalksTheGuestsTables)
{
    constexpr uint32_t kPd = 0x10000, kPt = 0x11000, kFrame = 0x1a000, kAccessed = 0x20;
    auto put32 = [&](uint64_t gpa, uint32_t v) {
        std::vector<uint8_t> b(4);
        std::memcpy(b.data(), &v, 4);
        ASSERT_TRUE(mem->write(gpa, b));
    };
    put32(kPd, kPt | 3);            // linear 0..4 MiB through kPt
    put32(kPt + 5 * 4, kFrame | 3); // linear page 5 -> kFrame
    x86::CpuState st = x86::flat_protected_mode_32(0x1000, 0);
    st.cr3 = kPd;
    st.cr0 |= x86::kCr0Pg;
    ASSERT_TRUE(vcpu->set_cpu_state(st));
    auto gpa = vcpu->translate(0x5123);
    ASSERT_TRUE(gpa) << gpa.error().message;
    EXPECT_EQ(*gpa, kFrame + 0x123u);
    auto missing = vcpu->translate(0x400000); // no page table for 4..8 MiB
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, EFAULT);
    EXPECT_EQ(read32(kPt + 5 * 4) & kAccessed, 0u);
}

TEST_P(IntrospectBackend, CapsMatchTheBackend)
{
    if (GetParam() == Accel::Emu) {
        EXPECT_EQ(caps.page_access, kAccessAll);
        EXPECT_TRUE(caps.breakpoints && caps.descriptor_access && caps.msr_writes && caps.single_step);
        EXPECT_EQ(caps.cr_writes, 0x19);
    } else {
        EXPECT_EQ(caps.page_access & ~kAccessWrite, 0); // read and execute faults stay in KVM
        EXPECT_EQ(caps.cr_writes, 0); // KVM does not hand CR writes to user space
        EXPECT_FALSE(caps.descriptor_access);
        Intercepts cr;
        cr.cr_writes = 1u << 3;
        Status st = vcpu->set_intercepts(cr);
        EXPECT_TRUE(!st && st.error().code == ENOSYS);
    }
}

} // namespace

INSTANTIATE_TEST_SUITE_P(Backends, IntrospectBackend, ::testing::Values(Accel::Emu, Accel::Kvm),
                         [](const ::testing::TestParamInfo<Accel>& p) { return std::string(accel_name(p.param)); });

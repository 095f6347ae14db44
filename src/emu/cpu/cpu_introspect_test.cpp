// Introspection in the interpreter: page limits (read, write, execute) stopping instructions before
// they change anything, intercepted instructions, and the three ways of finishing them.
#include "emu/cpu/cpu_test_fixture.h"

using namespace xkvm;
using namespace xkvm::emu;
using namespace xkvm::emu::test;

namespace {

using Table = CpuExit::Introspect::Table;
constexpr uint64_t kCr0Mp = 1u << 1, kCr0Ts = 1u << 3, kCr4Tsd = 1u << 2;

TEST_F(IntrospectTest, WriteLimitStopsTheStoreUntilExecuted)
{
    long64();
    // mov dword [rax],0x1234 ; mov dword [rax+4],0x5678 ; hlt
    bus.load(kCode, { 0xc7, 0x00, 0x34, 0x12, 0x00, 0x00, 0xc7, 0x40, 0x04, 0x78, 0x56, 0x00, 0x00, 0xf4 });
    st().gpr[x86::Rax] = kData + 0x10;
    limit(kData, kPageRead | kPageExec);
    CpuExit::Introspect x = expect_intercept(What::MemAccess, 6);
    EXPECT_EQ(last_gpa, kData + 0x10);
    EXPECT_EQ(x.lin, kData + 0x10);
    EXPECT_TRUE(x.lin_valid);
    EXPECT_EQ(x.access, kPageWrite);
    EXPECT_EQ(st().rip, kCode);
    EXPECT_EQ(bus.get32(kData + 0x10), 0u);
    EXPECT_EQ(cpu->instructions_retired(), 0u);

    // Retry: the same exit again.
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Retry));
    expect_intercept(What::MemAccess, 6);
    EXPECT_EQ(st().rip, kCode);
    // Execute: this one store goes through; the next one on the page stops again.
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    expect_intercept(What::MemAccess, 7);
    EXPECT_EQ(bus.get32(kData + 0x10), 0x1234u);
    EXPECT_EQ(last_gpa, kData + 0x14);
    EXPECT_EQ(st().rip, kCode + 6);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_FALSE(cpu->finish_intercept(InterceptFinish::Skip)); // once per exit
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData + 0x14), 0x5678u);
}

TEST_F(IntrospectTest, ReadLimitRefusesLoadsButNotStores)
{
    long64();
    // mov [rbx],ecx ; mov eax,[rbx] ; hlt
    bus.load(kCode, { 0x89, 0x0b, 0x8b, 0x03, 0xf4 });
    st().gpr[x86::Rbx] = kData + 0x100;
    st().gpr[x86::Rcx] = 0xabcd;
    bus.put32(kData + 0x100, 7);
    limit(kData, kPageWrite | kPageExec);
    CpuExit::Introspect x = expect_intercept(What::MemAccess, 2);
    EXPECT_EQ(x.access, kPageRead);
    EXPECT_EQ(st().rip, kCode + 2);
    EXPECT_EQ(bus.get32(kData + 0x100), 0xabcdu);
    // Skip: the load never happens.
    st().gpr[x86::Rax] = 0x55;
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Skip));
    EXPECT_EQ(st().rip, kCode + 4);
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax], 0x55u);
}

TEST_F(IntrospectTest, ExecLimitStopsFetchAndExecuteRunsOneInstruction)
{
    long64();
    // At kCode: jmp to the limited page. There: nop ; nop ; hlt.
    constexpr uint64_t kLimitedCode = 0x12000;
    bus.load(kCode, { 0xe9, 0xfb, 0x1f, 0x00, 0x00 }); // jmp kCode+5+0x1ffb = 0x12000
    bus.load(kLimitedCode, { 0x90, 0x90, 0xf4 });
    limit(kLimitedCode, kPageRead | kPageWrite);
    CpuExit::Introspect x = expect_intercept(What::MemAccess, 1);
    EXPECT_EQ(x.access, kPageExec);
    EXPECT_EQ(last_gpa, kLimitedCode);
    EXPECT_EQ(st().rip, kLimitedCode);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    expect_intercept(What::MemAccess, 1);
    EXPECT_EQ(st().rip, kLimitedCode + 1);
    // Reading the page is still allowed.
    lift(kLimitedCode);
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kLimitedCode + 3);
}

TEST_F(IntrospectTest, RepMovsStopsAtTheFirstElementIntoTheLimitedPage)
{
    long64();
    // rep movsb ; hlt — 0x20 bytes whose last 0x10 land on the next, write-limited page
    bus.load(kCode, { 0xf3, 0xa4, 0xf4 });
    constexpr uint64_t kDst = kData + 0x2000 - 0x10;
    for (unsigned k = 0; k < 0x20; ++k)
        bus.ram[kData + 0x100 + k] = uint8_t(k + 1);
    st().gpr[x86::Rsi] = kData + 0x100;
    st().gpr[x86::Rdi] = kDst;
    st().gpr[x86::Rcx] = 0x20;
    limit(kData + 0x2000, kPageRead | kPageExec);
    CpuExit::Introspect x = expect_intercept(What::MemAccess, 2);
    EXPECT_EQ(x.access, kPageWrite);
    EXPECT_EQ(last_gpa, kData + 0x2000);
    EXPECT_EQ(st().rip, kCode);
    EXPECT_EQ(st().gpr[x86::Rcx], 0x10u); // the elements before the page are architecturally done
    EXPECT_EQ(st().gpr[x86::Rdi], kData + 0x2000);
    EXPECT_EQ(bus.ram[kDst + 0xf], 0x10);
    EXPECT_EQ(bus.ram[kData + 0x2000], 0);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rcx], 0u);
    EXPECT_EQ(bus.ram[kData + 0x2000 + 0xf], 0x20);
}

TEST_F(IntrospectTest, PageCrossingStoreWithOnlyTheSecondPageLimitedWritesNothing)
{
    long64();
    // mov [rax],rbx ; hlt — 4 bytes on each page
    bus.load(kCode, { 0x48, 0x89, 0x18, 0xf4 });
    st().gpr[x86::Rax] = kData + 0x1000 - 4;
    st().gpr[x86::Rbx] = 0x1122334455667788ull;
    limit(kData + 0x1000, kPageRead | kPageExec);
    CpuExit::Introspect x = expect_intercept(What::MemAccess, 3);
    EXPECT_EQ(last_gpa, kData + 0x1000);
    EXPECT_EQ(x.lin, kData + 0x1000);
    EXPECT_EQ(bus.get32(kData + 0x1000 - 4), 0u); // the first page is untouched too
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get64(kData + 0x1000 - 4), 0x1122334455667788ull);
}

TEST_F(IntrospectTest, LimitsOnlyStopAccessesToTheirOwnPage)
{
    long64();
    // mov [rax],ebx ; mov [rax+0x1000],ebx ; hlt
    bus.load(kCode, { 0x89, 0x18, 0x89, 0x98, 0x00, 0x10, 0x00, 0x00, 0xf4 });
    st().gpr[x86::Rax] = kData;
    st().gpr[x86::Rbx] = 9;
    limit(kData + 0x1000, 0);
    expect_intercept(What::MemAccess, 6);
    EXPECT_EQ(bus.get32(kData), 9u);
    lift(kData + 0x1000);
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData + 0x1000), 9u);
}

TEST_F(IntrospectTest, IntNFrameOntoAWriteLimitedStackExitsBeforeTheInstruction)
{
    long64();
    gate64(3, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0xcc });
    limit(kKernelStack - 0x1000, kPageRead | kPageExec);
    CpuExit::Introspect x = expect_intercept(What::MemAccess, 1);
    EXPECT_EQ(x.access, kPageWrite);
    EXPECT_EQ(st().rip, kCode);
    EXPECT_EQ(st().gpr[x86::Rsp], kKernelStack);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kHandlers + 1);
}

TEST_F(IntrospectTest, BreakpointExitsAndEachFinishDoesWhatItSays)
{
    long64();
    gate64(3, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0xcc, 0xcc, 0xf4 });
    CpuIntercepts in;
    in.breakpoints = true;
    cpu->set_intercepts(in);
    expect_intercept(What::Breakpoint, 1);
    EXPECT_EQ(st().rip, kCode);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Skip));
    EXPECT_EQ(st().rip, kCode + 1);
    expect_intercept(What::Breakpoint, 1);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute)); // the guest's own #BP
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kHandlers + 1);
    EXPECT_EQ(bus.get64(kKernelStack - 40), kCode + 2); // the #BP frame's RIP: after the INT3
}

TEST_F(IntrospectTest, CrWritesReportOldAndNewValues)
{
    long64();
    // mov cr4,rax ; mov cr3,rbx ; mov cr0,rcx ; lmsw dx ; clts ; hlt
    bus.load(kCode, { 0x0f, 0x22, 0xe0, 0x0f, 0x22, 0xdb, 0x0f, 0x22, 0xc1, 0x0f, 0x01, 0xf2, 0x0f, 0x06, 0xf4 });
    uint64_t cr4 = st().cr4, cr3 = st().cr3, cr0 = st().cr0;
    st().gpr[x86::Rax] = cr4 | kCr4Tsd;
    st().gpr[x86::Rbx] = cr3;
    st().gpr[x86::Rcx] = cr0 | kCr0Ts;
    st().gpr[x86::Rdx] = (cr0 & 0xffff) | kCr0Mp;
    CpuIntercepts in;
    in.cr_writes = 1u << 0 | 1u << 3 | 1u << 4;
    cpu->set_intercepts(in);
    CpuExit::Introspect x = expect_intercept(What::CrWrite, 3);
    EXPECT_EQ(x.index, 4u);
    EXPECT_EQ(x.old_value, cr4);
    EXPECT_EQ(x.new_value, cr4 | kCr4Tsd);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Skip)); // denied
    EXPECT_EQ(st().cr4, cr4);
    x = expect_intercept(What::CrWrite, 3);
    EXPECT_EQ(x.index, 3u);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    x = expect_intercept(What::CrWrite, 3);
    EXPECT_EQ(x.index, 0u);
    EXPECT_EQ(x.new_value, cr0 | kCr0Ts);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    x = expect_intercept(What::CrWrite, 3); // LMSW writes CR0 too
    EXPECT_EQ(st().cr0, cr0 | kCr0Ts);
    EXPECT_EQ(x.index, 0u);
    EXPECT_EQ(x.old_value, cr0 | kCr0Ts);
    EXPECT_EQ(x.new_value & kCr0Mp, kCr0Mp);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Skip));
    x = expect_intercept(What::CrWrite, 2); // and CLTS
    EXPECT_EQ(x.old_value, cr0 | kCr0Ts);
    EXPECT_EQ(x.new_value, cr0);
    cpu->set_intercepts({});
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().cr0 & kCr0Ts, 0u);
}

TEST_F(IntrospectTest, MsrWritesToListedMsrsOnly)
{
    long64();
    // wrmsr (LSTAR) ; mov ecx,0xc0000084 ; wrmsr (SFMASK, not listed) ; hlt
    bus.load(kCode, { 0x0f, 0x30, 0xb9, 0x84, 0x00, 0x00, 0xc0, 0x0f, 0x30, 0xf4 });
    st().msr.lstar = 0xffffffff81000000ull;
    st().gpr[x86::Rcx] = 0xc0000082;
    st().gpr[x86::Rax] = 0x81200000;
    st().gpr[x86::Rdx] = 0xffffffff;
    CpuIntercepts in;
    in.msr_writes = { 0x10, 0xc0000082 };
    cpu->set_intercepts(in);
    CpuExit::Introspect x = expect_intercept(What::MsrWrite, 2);
    EXPECT_EQ(x.index, 0xc0000082u);
    EXPECT_EQ(x.old_value, 0xffffffff81000000ull);
    EXPECT_EQ(x.new_value, 0xffffffff81200000ull);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().msr.lstar, 0xffffffff81200000ull);
    EXPECT_EQ(st().msr.sfmask, 0xffffffff81200000ull); // not listed: no exit
}

TEST_F(IntrospectTest, DescriptorTableInstructionsNameTheirTable)
{
    long64();
    // lgdt [rax] ; sgdt [rax] ; lidt [rax] ; sidt [rax] ; lldt bx ; sldt bx ; ltr bx ; str bx ; hlt
    bus.load(kCode, { 0x0f, 0x01, 0x10, 0x0f, 0x01, 0x00, 0x0f, 0x01, 0x18, 0x0f, 0x01, 0x08, 0x0f, 0x00, 0xd3,
                      0x0f, 0x00, 0xc3, 0x0f, 0x00, 0xdb, 0x0f, 0x00, 0xcb, 0xf4 });
    st().gpr[x86::Rax] = kData;
    CpuIntercepts in;
    in.descriptors = true;
    cpu->set_intercepts(in);
    const std::pair<Table, bool> expected[] = { { Table::Gdtr, true }, { Table::Gdtr, false }, { Table::Idtr, true },
        { Table::Idtr, false }, { Table::Ldtr, true }, { Table::Ldtr, false }, { Table::Tr, true }, { Table::Tr, false } };
    for (auto [table, write] : expected) {
        uint64_t rip = st().rip;
        CpuExit::Introspect x = expect_intercept(What::Descriptor, 3);
        EXPECT_EQ(x.table, table);
        EXPECT_EQ(x.table_write, write);
        EXPECT_EQ(st().rip, rip);
        ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Skip));
    }
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get64(kData), 0u); // nothing stored
}

TEST_F(IntrospectTest, PrivilegeFaultsComeBeforeIntercepts)
{
    long64();
    // At CPL3: mov cr4,rax -> #GP, not an exit.
    gate64(13, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0x0f, 0x22, 0xe0 });
    st().seg[SegCs] = flat(kUcode64, 0xb, true, 3);
    st().seg[SegSs] = flat(kUdata, 0x3, false, 3);
    st().gpr[x86::Rsp] = kUserStack;
    cpu->state_changed();
    CpuIntercepts in;
    in.cr_writes = 1u << 4;
    cpu->set_intercepts(in);
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kHandlers + 1);
}

TEST_F(IntrospectTest, SingleStepReportsConsecutiveRipsAcrossAnExecute)
{
    long64();
    // nop ; mov [rax],ebx ; nop ; hlt
    bus.load(kCode, { 0x90, 0x89, 0x18, 0x90, 0xf4 });
    st().gpr[x86::Rax] = kData;
    limit(kData, kPageRead);
    cpu->set_single_step(true);
    EXPECT_EQ(run().kind, CpuExit::Kind::Debug);
    EXPECT_EQ(st().rip, kCode + 1);
    expect_intercept(What::MemAccess, 2);
    EXPECT_EQ(st().rip, kCode + 1);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Debug);
    EXPECT_EQ(st().rip, kCode + 3);
    EXPECT_EQ(run().kind, CpuExit::Kind::Debug);
    EXPECT_EQ(st().rip, kCode + 4);
}

TEST_F(IntrospectTest, InterruptsWaitForTheExecutedInstruction)
{
    long64();
    gate64(0x40, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    // mov [rax],ebx ; hlt
    bus.load(kCode, { 0x89, 0x18, 0xf4 });
    st().gpr[x86::Rax] = kData;
    st().gpr[x86::Rbx] = 0x77;
    st().rflags |= x86::kRflagsIf;
    limit(kData, kPageRead);
    expect_intercept(What::MemAccess, 2);
    bus.pending_vectors.push_back(0x40);
    cpu->raise_attention();
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kHandlers + 1);
    EXPECT_EQ(bus.get32(kData), 0x77u);
    EXPECT_EQ(bus.get64(kKernelStack - 40), kCode + 2); // interrupted after the store, not before
}

TEST_F(IntrospectTest, FinishWithoutAnInterceptIsRefused)
{
    long64();
    bus.load(kCode, { 0xf4 });
    EXPECT_FALSE(cpu->finish_intercept(InterceptFinish::Skip));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_FALSE(cpu->finish_intercept(InterceptFinish::Execute));
}

} // namespace

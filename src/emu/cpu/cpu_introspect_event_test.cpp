// Introspection and event delivery: a fault, an NMI, an external interrupt or the single-step trap
// whose IDT read or stack frame a page's limits refuse is held (nothing of it committed, nothing
// written), reported as an Introspect exit without an instruction, and delivered again by the
// next run: ignoring the limits once after Execute, under them after Retry and Skip.
#include "emu/cpu/cpu_test_fixture.h"
#include "emu/cpu/cpu_types.h"

using namespace xkvm;
using namespace xkvm::emu;
using namespace xkvm::emu::test;

namespace {

constexpr uint64_t kStackPage = kKernelStack - 0x1000;
constexpr uint64_t kFrame = kKernelStack - 40; // a 64-bit frame without error code: RIP at its base

class EventLimitTest : public IntrospectTest {
public:
    // The held event's exit: a refused write to the stack page, RIP and RSP where they were.
    void expect_held_frame(uint64_t rip)
    {
        CpuExit::Introspect x = expect_intercept(What::MemAccess, 0); // no instruction to skip
        EXPECT_EQ(x.access, kPageWrite);
        EXPECT_EQ(last_gpa & ~0xfffull, kStackPage);
        EXPECT_EQ(st().rip, rip);
        EXPECT_EQ(st().gpr[x86::Rsp], kKernelStack);
        for (uint64_t at = kFrame; at < kKernelStack; at += 8)
            EXPECT_EQ(bus.get64(at), 0u) << std::hex << at;
    }
};

TEST_F(EventLimitTest, FaultFrameOntoAWriteLimitedStackIsHeldUntilExecuted)
{
    long64();
    gate64(6, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0x0f, 0x0b }); // ud2
    limit(kStackPage, kPageRead | kPageExec);
    expect_held_frame(kCode);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Retry));
    expect_held_frame(kCode);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Skip)); // an event has nothing to skip
    expect_held_frame(kCode);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kHandlers + 1);
    EXPECT_EQ(bus.get64(kFrame), kCode); // #UD: the faulting instruction's RIP
    EXPECT_EQ(st().gpr[x86::Rsp], kFrame);
}

TEST_F(EventLimitTest, ExternalInterruptWithItsGateReadLimitedIsDeliveredOnceLifted)
{
    long64();
    gate64(0x40, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0x90, 0xf4 }); // nop ; hlt
    st().rflags |= x86::kRflagsIf;
    bus.pending_vectors.push_back(0x40);
    cpu->raise_attention();
    limit(kIdt, kPageWrite | kPageExec);
    CpuExit::Introspect x = expect_intercept(What::MemAccess, 0);
    EXPECT_EQ(x.access, kPageRead);
    EXPECT_EQ(last_gpa, kIdt + 0x40 * 16);
    EXPECT_EQ(st().rip, kCode);
    EXPECT_TRUE(bus.pending_vectors.empty()); // acknowledged once, and held
    lift(kIdt);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Retry));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kHandlers + 1);
    EXPECT_EQ(bus.get64(kFrame), kCode); // taken before the nop, as it would have been
}

TEST_F(EventLimitTest, NmiFrameIsHeldAndBlocksNmisOnlyOnceDelivered)
{
    long64();
    gate64(2, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0x90, 0xf4 });
    limit(kStackPage, kPageRead | kPageExec);
    cpu->deliver_nmi();
    expect_held_frame(kCode);
    EXPECT_FALSE(st().nmi_blocked);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kHandlers + 1);
    EXPECT_TRUE(st().nmi_blocked);
    EXPECT_EQ(bus.get64(kFrame), kCode);
}

TEST_F(EventLimitTest, SingleStepTrapIsHeldAfterItsInstructionRetired)
{
    long64();
    gate64(1, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0x90, 0xf4 }); // nop ; hlt
    st().rflags |= kRflagsTf;
    limit(kStackPage, kPageRead | kPageExec);
    expect_held_frame(kCode + 1);
    EXPECT_EQ(cpu->instructions_retired(), 1u);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kHandlers + 1);
    EXPECT_EQ(bus.get64(kFrame), kCode + 1);
    EXPECT_EQ(cpu->instructions_retired(), 2u); // the nop once, then the handler's hlt
}

TEST_F(EventLimitTest, APortWriteIsReportedBeforeItsHeldSingleStepTrap)
{
    long64();
    gate64(1, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0xe6, 0x80, 0xf4 }); // out 0x80,al ; hlt
    st().rflags |= kRflagsTf;
    limit(kStackPage, kPageRead | kPageExec);
    CpuExit e = run();
    EXPECT_EQ(e.kind, CpuExit::Kind::PortOut);
    EXPECT_EQ(e.port, 0x80);
    EXPECT_FALSE(cpu->finish_intercept(InterceptFinish::Execute)); // not an Introspect exit
    expect_held_frame(kCode + 2);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get64(kFrame), kCode + 2);
}

TEST_F(EventLimitTest, AccessedBitOnAWriteLimitedGdtStopsIntNBeforeItsFrame)
{
    long64();
    bus.put64(kGdt + kKcode64, 0x00af9a000000ffffull); // the handler's CS, accessed bit clear
    gate64(3, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0xcc });
    limit(kGdt & ~0xfffull, kPageRead | kPageExec);
    CpuExit::Introspect x = expect_intercept(What::MemAccess, 1); // inside INT3: re-executed
    EXPECT_EQ(x.access, kPageWrite);
    EXPECT_EQ(last_gpa, kGdt + kKcode64 + 5);
    EXPECT_EQ(st().rip, kCode);
    EXPECT_EQ(st().gpr[x86::Rsp], kKernelStack);
    EXPECT_EQ(bus.get64(kFrame), 0u); // the frame waits for the accessed bit
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get64(kFrame), kCode + 1);
    EXPECT_EQ(bus.get64(kGdt + kKcode64), 0x00af9b000000ffffull);
}

TEST_F(EventLimitTest, InitDropsAHeldEvent)
{
    long64();
    gate64(6, kHandlers);
    bus.load(kCode, { 0x0f, 0x0b });
    limit(kStackPage, kPageRead | kPageExec);
    expect_held_frame(kCode);
    cpu->init_reset();
    EXPECT_FALSE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Budget); // waits for SIPI, nothing held
}

} // namespace

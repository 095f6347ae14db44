// Introspection of the page walk itself: the walk's reads of page-table entries and its A/D-bit
// writes are held to the monitor's limits on the page-table pages (Xen reports them as mem_access
// with MEM_ACCESS_FAULT_IN_GPT), and translate() looks tables up without touching anything.
#include "emu/cpu/cpu_test_fixture.h"

using namespace xkvm;
using namespace xkvm::emu;
using namespace xkvm::emu::test;

namespace {

constexpr uint64_t kPteA = 0x20, kPteD = 0x40;
// A 4 KiB page table of its own for linear 2..4 MiB (not identity mapped): kLin -> kData.
constexpr uint64_t kPt = 0x5000, kLin = 0x203000, kPte = kPt + 3 * 8;

class WalkTest : public IntrospectTest {
public:
    void map_data(uint64_t pte_bits)
    {
        long64();
        bus.put64(kPd + 8, kPt | 7);
        bus.put64(kPte, kData | pte_bits);
        cpu->flush_tlb();
    }
    // The exit must be the walk's, for the entry kLin's translation uses.
    void expect_walk_exit(uint8_t refused, uint64_t lin)
    {
        CpuExit::Introspect x = expect_intercept(What::MemAccess, 3);
        EXPECT_TRUE(x.in_walk);
        EXPECT_EQ(x.access, refused);
        EXPECT_TRUE(x.lin_valid);
        EXPECT_EQ(x.lin, lin);
        EXPECT_EQ(last_gpa, kPte);
        EXPECT_EQ(st().rip, kCode);
    }
};

// mov eax,[rbx+0x10] ; hlt
constexpr std::initializer_list<uint8_t> kLoad = { 0x8b, 0x43, 0x10, 0xf4 };
// mov [rbx+0x10],ecx ; hlt
constexpr std::initializer_list<uint8_t> kStore = { 0x89, 0x4b, 0x10, 0xf4 };

TEST_F(WalkTest, ReadLimitOnAPageTableStopsTheWalkUntilExecuted)
{
    map_data(0x3 | kPteA);
    bus.load(kCode, kLoad);
    st().gpr[x86::Rbx] = kLin;
    bus.put32(kData + 0x10, 0x77);
    limit(kPt, kPageWrite | kPageExec);
    expect_walk_exit(kPageRead, kLin + 0x10);
    EXPECT_EQ(st().gpr[x86::Rax], 0u);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Retry));
    expect_walk_exit(kPageRead, kLin + 0x10);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax], 0x77u);
}

TEST_F(WalkTest, AnExecutedWalkDoesNotLetLaterAccessesPastTheLimit)
{
    map_data(0x3 | kPteA);
    // mov eax,[rbx+0x10] ; mov eax,[rbx+0x10] ; hlt: both walk through the limited table
    bus.load(kCode, { 0x8b, 0x43, 0x10, 0x8b, 0x43, 0x10, 0xf4 });
    st().gpr[x86::Rbx] = kLin;
    limit(kPt, kPageWrite | kPageExec);
    expect_walk_exit(kPageRead, kLin + 0x10);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    CpuExit::Introspect x = expect_intercept(What::MemAccess, 3);
    EXPECT_TRUE(x.in_walk) << "the executed walk's translation was not cached";
    EXPECT_EQ(st().rip, kCode + 3);
}

TEST_F(WalkTest, SettingTheAccessedBitIsAWriteToThePageTable)
{
    map_data(0x3); // A clear: the walk must set it
    bus.load(kCode, kLoad);
    st().gpr[x86::Rbx] = kLin;
    bus.put32(kData + 0x10, 0x55);
    limit(kPt, kPageRead | kPageExec);
    expect_walk_exit(kPageWrite, kLin + 0x10);
    EXPECT_EQ(bus.get64(kPte) & kPteA, 0u) << "the entry is not touched before the answer";
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Retry));
    expect_walk_exit(kPageWrite, kLin + 0x10);
    // The monitor sets the bit itself: the retried walk then has nothing to write.
    bus.put64(kPte, bus.get64(kPte) | kPteA);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Retry));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax], 0x55u);
}

TEST_F(WalkTest, AStoreThatMustSetTheDirtyBitStopsAndExecuteSetsIt)
{
    map_data(0x3 | kPteA);
    bus.load(kCode, kStore);
    st().gpr[x86::Rbx] = kLin;
    st().gpr[x86::Rcx] = 0xbeef;
    limit(kPt, kPageRead | kPageExec);
    expect_walk_exit(kPageWrite, kLin + 0x10);
    EXPECT_EQ(bus.get32(kData + 0x10), 0u);
    EXPECT_EQ(bus.get64(kPte) & kPteD, 0u);
    ASSERT_TRUE(cpu->finish_intercept(InterceptFinish::Execute));
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData + 0x10), 0xbeefu);
    EXPECT_EQ(bus.get64(kPte) & (kPteA | kPteD), kPteA | kPteD);
}

TEST_F(WalkTest, EntriesWithTheirBitsSetNeedNoWrite)
{
    map_data(0x3 | kPteA | kPteD);
    bus.load(kCode, kStore);
    st().gpr[x86::Rbx] = kLin;
    st().gpr[x86::Rcx] = 0x1234;
    limit(kPt, kPageRead | kPageExec); // the walk may read the table but not write it
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData + 0x10), 0x1234u);
}

TEST_F(WalkTest, TranslateLooksUpWithoutTouchingAnything)
{
    map_data(0x3); // A and D clear
    limit(kPt, 0);  // not even readable by the guest's walks
    st().cr2 = 0x99;
    auto gpa = cpu->translate(kLin + 0x123);
    ASSERT_TRUE(gpa);
    EXPECT_EQ(*gpa, kData + 0x123) << "through the tables, not the identity";
    EXPECT_EQ(bus.get64(kPte) & (kPteA | kPteD), 0u);
    EXPECT_FALSE(cpu->translate(0x4000000000ull)) << "a PML4 entry that is not present";
    EXPECT_EQ(st().cr2, 0x99u) << "no #PF";
    // The guest's own access still stops at the limit: translate() cached nothing.
    bus.load(kCode, kLoad);
    st().gpr[x86::Rbx] = kLin;
    expect_walk_exit(kPageRead, kLin + 0x10);
}

TEST_F(WalkTest, TranslateWithoutPagingIsTheIdentity)
{
    flat32();
    auto gpa = cpu->translate(0x12345);
    ASSERT_TRUE(gpa);
    EXPECT_EQ(*gpa, 0x12345u);
}

} // namespace

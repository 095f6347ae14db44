// Paging: 32-bit with PSE, PAE, 4-level; #PF error codes and CR2; A/D bits; paging off again.
#include "emu/cpu/cpu_test_fixture.h"

namespace xkvm::emu::test {
namespace {

// pop rbx; mov rcx,cr2; mov rdx,[rsp]; hlt  (error code, CR2, faulting RIP)
constexpr std::initializer_list<uint8_t> kPfHandler = { 0x5b, 0x0f, 0x20, 0xd1, 0x48, 0x8b, 0x14, 0x24, 0xf4 };

class PagingTest : public CpuTest {
protected:
    void SetUp() override
    {
        long64();
        gate64(14, kHandlers);
        bus.load(kHandlers, kPfHandler);
        // 2-4 MiB through a page table: RW, read-only, NX, not present.
        bus.put64(kPd + 8, 0x5000 | 7);
        bus.put64(0x5000 + 0, 0x200000 | 7);
        bus.put64(0x5000 + 8, 0x201000 | 5);
        bus.put64(0x5000 + 16, 0x202000 | 7 | (1ull << 63));
    }
};

TEST_F(PagingTest, NotPresentReadFaultsWithCr2)
{
    bus.load(kCode, { 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40, 0xf4 }); // mov rax,[0x40000000]; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0u); // read, supervisor, not present
    EXPECT_EQ(st().gpr[x86::Rcx], 0x40000000u);
    EXPECT_EQ(st().gpr[x86::Rdx], kCode); // a fault: RIP of the instruction
}

TEST_F(PagingTest, WriteToReadOnlyWithWpAndDirtyBits)
{
    // mov dword [0x200000],1; mov dword [0x201000],2; hlt
    bus.load(kCode, { 0xc7, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0xc7, 0x04, 0x25,
                      0x00, 0x10, 0x20, 0x00, 0x02, 0x00, 0x00, 0x00, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(0x200000), 1u);
    EXPECT_EQ(bus.get64(0x5000) & 0x60, 0x60u); // accessed and dirty
    EXPECT_EQ(st().gpr[x86::Rbx], 3u);          // present | write
    EXPECT_EQ(st().gpr[x86::Rcx], 0x201000u);
    EXPECT_EQ(st().gpr[x86::Rdx], kCode + 11);
    EXPECT_EQ(bus.get32(0x201000), 0u);
}

TEST_F(PagingTest, FetchFromNxPage)
{
    bus.load(kCode, { 0xb8, 0x00, 0x20, 0x20, 0x00, 0xff, 0xe0 }); // mov eax,0x202000; jmp rax
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0x11u); // present | instruction fetch
    EXPECT_EQ(st().gpr[x86::Rcx], 0x202000u);
    EXPECT_EQ(st().gpr[x86::Rdx], 0x202000u);
}

TEST_F(PagingTest, UserAccessToSupervisorPage)
{
    bus.put64(0x5000 + 24, 0x203000 | 3); // supervisor-only
    st().seg[SegCs] = flat(kUcode64, 0xb, true, 3);
    st().seg[SegSs] = flat(kUdata, 0x3, false, 3);
    st().gpr[x86::Rsp] = kUserStack;
    bus.load(kCode, { 0x48, 0x8b, 0x04, 0x25, 0x00, 0x30, 0x20, 0x00 }); // mov rax,[0x203000]
    cpu->state_changed();
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 5u); // present | user
    EXPECT_EQ(st().gpr[x86::Rcx], 0x203000u);
}

TEST_F(CpuTest, Paging32WithPse)
{
    flat32();
    bus.put32(0x1000, 0x00000087);      // 0-4 MiB: a 4 MiB page
    bus.put32(0x1004, 0x2000 | 7);      // 4-8 MiB: a page table
    bus.put32(0x2000, 0x300000 | 3);    // 0x400000 -> 0x300000
    // cr4 |= PSE; cr3 = 0x1000; cr0 |= PG; mov dword [0x400010],0xabcd; mov ebx,[0x10]; hlt
    bus.load(kCode, { 0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x10, 0x0f, 0x22, 0xe0, 0xb8, 0x00, 0x10, 0x00, 0x00,
                      0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0,
                      0xc7, 0x05, 0x10, 0x00, 0x40, 0x00, 0xcd, 0xab, 0x00, 0x00, 0x8b, 0x1d, 0x10, 0x00,
                      0x00, 0x00, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(0x300010), 0xabcdu);
    EXPECT_EQ(bus.get32(0x2000) & 0x60, 0x60u);
    EXPECT_EQ(bus.get32(0x1000) & 0x20, 0x20u);
}

TEST_F(CpuTest, PaeThenPagingOff)
{
    flat32();
    bus.put64(0x1000, 0x2000 | 1);        // PDPTE 0
    bus.put64(0x2000, 0x000000 | 0x83);   // 0-2 MiB identity
    bus.put64(0x2008, 0x600000 | 0x83);   // 2-4 MiB -> 6 MiB
    // cr4 |= PAE; cr3 = 0x1000; cr0 |= PG; mov dword [0x200010],0x5678; cr0 &= ~PG;
    // mov ebx,[0x600010]; mov ecx,[0x200010]; hlt
    bus.load(kCode, { 0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, 0xb8, 0x00, 0x10, 0x00, 0x00,
                      0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0,
                      0xc7, 0x05, 0x10, 0x00, 0x20, 0x00, 0x78, 0x56, 0x00, 0x00, 0x0f, 0x20, 0xc0, 0x25,
                      0xff, 0xff, 0xff, 0x7f, 0x0f, 0x22, 0xc0, 0x8b, 0x1d, 0x10, 0x00, 0x60, 0x00, 0x8b,
                      0x0d, 0x10, 0x00, 0x20, 0x00, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0x5678u);
    EXPECT_EQ(st().gpr[x86::Rcx], 0u);
    EXPECT_FALSE(st().cr0 & x86::kCr0Pg);
}

// mov rax,cr4; or eax,SMEP; mov cr4,rax; mov eax,0x200000; jmp rax
constexpr std::initializer_list<uint8_t> kSmepThenJump = { 0x0f, 0x20, 0xe0, 0x0d, 0x00, 0x00, 0x10, 0x00, 0x0f,
                                                           0x22, 0xe0, 0xb8, 0x00, 0x00, 0x20, 0x00, 0xff, 0xe0 };

TEST_F(PagingTest, SmepIsReservedUnlessCpuidAnnouncesIt)
{
    gate64(13, kHandlers);
    bus.load(kCode, kSmepThenJump);
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0u);     // #GP(0) from the CR4 write
    EXPECT_EQ(st().gpr[x86::Rdx], kCode + 8);
}

TEST_F(CpuTest, SmepBlocksSupervisorFetchFromUserPage)
{
    bus.smep = true;
    long64();
    bus.put64(kPd, 0x83); // the first 2 MiB (code, handlers) supervisor-only
    gate64(14, kHandlers);
    bus.load(kHandlers, kPfHandler);
    bus.load(kCode, kSmepThenJump);
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0x11u); // present | fetch, supervisor
    EXPECT_EQ(st().gpr[x86::Rcx], 0x200000u);
}

TEST_F(CpuTest, UmipMakesSgdtFaultAtCpl3)
{
    for (bool umip : { false, true }) {
        bus.umip = umip;
        long64();
        if (umip)
            st().cr4 |= 1u << 11;
        st().seg[SegCs] = flat(kUcode64, 0xb, true, 3);
        st().seg[SegSs] = flat(kUdata, 0x3, false, 3);
        st().gpr[x86::Rsp] = kUserStack;
        st().run_state = RunState::Running;
        cpu->state_changed();
        gate64(13, kHandlers);
        bus.load(kHandlers, { 0xf4 });
        bus.load(kCode, { 0x0f, 0x01, 0x04, 0x25, 0x00, 0x00, 0x10, 0x00, 0xf4 }); // sgdt [0x100000]; hlt
        ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
        // Either way the CPU ends in the #GP handler: from SGDT with UMIP, from the CPL3 HLT without.
        EXPECT_EQ(bus.get64(st().gpr[x86::Rsp] + 8), umip ? kCode : kCode + 8) << umip;
    }
}

} // namespace
} // namespace xkvm::emu::test

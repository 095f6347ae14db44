// Privilege transitions and event delivery: INT from CPL3 with the TSS stack switch and IRET back
// (64- and 32-bit), SYSCALL/SYSRET, SYSENTER/SYSEXIT, #GP error codes, #DF, triple fault.
#include "emu/cpu/cpu_test_fixture.h"

namespace xkvm::emu::test {
namespace {

void to_user64(CpuTest& t, EmuState& s)
{
    (void)t;
    s.seg[SegCs] = CpuTest::flat(kUcode64, 0xb, true, 3);
    s.seg[SegSs] = CpuTest::flat(kUdata, 0x3, false, 3);
    s.gpr[x86::Rsp] = kUserStack;
}

TEST_F(CpuTest, Int80FromCpl3AndIretqBack)
{
    long64();
    to_user64(*this, st());
    cpu->state_changed();
    gate64(0x80, kHandlers, 3);
    gate64(6, kHandlers + 0x100);
    bus.load(kCode, { 0xbf, 0x42, 0x00, 0x00, 0x00, 0xcd, 0x80, 0x89, 0xc6, 0x0f, 0x0b }); // mov edi,0x42; int 0x80; mov esi,eax; ud2
    bus.load(kHandlers, { 0x48, 0x89, 0xe3, 0x8d, 0x47, 0x01, 0x48, 0xcf }); // mov rbx,rsp; lea eax,[rdi+1]; iretq
    bus.load(kHandlers + 0x100, { 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], kKernelStack - 40);
    EXPECT_EQ(st().gpr[x86::Rsi], 0x43u);
    // The #UD frame (CPL3 -> CPL0): RIP, CS, RFLAGS, RSP, SS.
    uint64_t sp = st().gpr[x86::Rsp];
    EXPECT_EQ(sp, kKernelStack - 40);
    EXPECT_EQ(bus.get64(sp), kCode + 9);
    EXPECT_EQ(bus.get64(sp + 8), kUcode64 | 3u);
    EXPECT_EQ(bus.get64(sp + 24), kUserStack);
    EXPECT_EQ(bus.get64(sp + 32), kUdata | 3u);
    EXPECT_EQ(st().cpl(), 0);
}

TEST_F(CpuTest, IntGateDplBlocksCpl3)
{
    long64();
    to_user64(*this, st());
    cpu->state_changed();
    gate64(0x80, kHandlers, 0);
    gate64(13, kHandlers + 0x100);
    bus.load(kCode, { 0xcd, 0x80 });
    bus.load(kHandlers + 0x100, { 0x5b, 0xf4 }); // pop rbx; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0x80u * 8 + 2);
    EXPECT_EQ(bus.get64(st().gpr[x86::Rsp]), kCode); // the INT itself faulted
}

TEST_F(CpuTest, SyscallSysret)
{
    long64();
    to_user64(*this, st());
    st().efer |= 1; // SCE
    st().msr.star = (uint64_t(0x20) << 48) | (uint64_t(kKcode64) << 32);
    st().msr.lstar = kHandlers;
    st().msr.sfmask = 0x200;
    st().rflags |= 0x200;
    cpu->state_changed();
    gate64(6, kHandlers + 0x100);
    bus.load(kCode, { 0x0f, 0x05, 0x89, 0xc6, 0x0f, 0x0b });             // syscall; mov esi,eax; ud2
    bus.load(kHandlers, { 0xb8, 0x07, 0x00, 0x00, 0x00, 0x48, 0x0f, 0x07 }); // mov eax,7; sysretq
    bus.load(kHandlers + 0x100, { 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rsi], 7u);
    EXPECT_EQ(st().gpr[x86::Rcx], kCode + 2);
    EXPECT_TRUE(st().gpr[x86::R11] & 0x200);
    uint64_t sp = st().gpr[x86::Rsp];
    EXPECT_EQ(bus.get64(sp + 8), 0x33u); // STAR[63:48] + 16, RPL 3
    EXPECT_EQ(bus.get64(sp + 32), 0x2bu);
}

TEST_F(CpuTest, SysenterSysexit32)
{
    flat32();
    st().seg[SegCs] = flat(kUcode32, 0xb, false, 3);
    st().seg[SegSs] = flat(kUdata, 0x3, false, 3);
    st().gpr[x86::Rsp] = kUserStack;
    st().msr.sysenter_cs = kKcode32;
    st().msr.sysenter_eip = kHandlers;
    st().msr.sysenter_esp = kKernelStack;
    cpu->state_changed();
    gate32(6, uint32_t(kHandlers + 0x100));
    // mov ecx,esp; mov edx,0x10009; sysenter; mov esi,eax; ud2
    bus.load(kCode, { 0x89, 0xe1, 0xba, 0x09, 0x00, 0x01, 0x00, 0x0f, 0x34, 0x89, 0xc6, 0x0f, 0x0b });
    bus.load(kHandlers, { 0xb8, 0x09, 0x00, 0x00, 0x00, 0x0f, 0x35 }); // mov eax,9; sysexit
    bus.load(kHandlers + 0x100, { 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rsi], 9u);
    uint32_t sp = uint32_t(st().gpr[x86::Rsp]);
    EXPECT_EQ(sp, kKernelStack - 20); // EIP CS EFLAGS ESP SS from the TSS switch
    EXPECT_EQ(bus.get32(sp), kCode + 11);
    EXPECT_EQ(bus.get32(sp + 4), kUcode32 | 3u);
    EXPECT_EQ(bus.get32(sp + 12), kUserStack);
    EXPECT_EQ(bus.get32(sp + 16), kUdata | 3u);
}

TEST_F(CpuTest, Int80FromCpl3In32BitWithIret)
{
    flat32();
    st().seg[SegCs] = flat(kUcode32, 0xb, false, 3);
    st().seg[SegSs] = flat(kUdata, 0x3, false, 3);
    st().gpr[x86::Rsp] = kUserStack;
    cpu->state_changed();
    gate32(0x80, uint32_t(kHandlers), 3);
    gate32(6, uint32_t(kHandlers + 0x100));
    bus.load(kCode, { 0xcd, 0x80, 0x0f, 0x0b });   // int 0x80; ud2
    bus.load(kHandlers, { 0x89, 0xe3, 0xcf });     // mov ebx,esp; iret
    bus.load(kHandlers + 0x100, { 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], kKernelStack - 20);
    EXPECT_EQ(bus.get32(uint32_t(kKernelStack - 20)), kCode + 2);
    EXPECT_EQ(bus.get32(uint32_t(st().gpr[x86::Rsp])), kCode + 2); // #UD after returning to CPL3
}

TEST_F(CpuTest, GpErrorCodeForBadSelector)
{
    flat32();
    gate32(13, uint32_t(kHandlers));
    bus.load(kCode, { 0xb8, 0x34, 0x12, 0x00, 0x00, 0x8e, 0xd8, 0xf4 }); // mov eax,0x1234; mov ds,ax; hlt
    bus.load(kHandlers, { 0x5b, 0xf4 });                                 // pop ebx; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0x1234u); // index and TI, RPL cleared
    EXPECT_EQ(bus.get32(uint32_t(st().gpr[x86::Rsp])), kCode + 5);
    EXPECT_EQ(st().seg[SegDs].selector, kKdata);
}

TEST_F(CpuTest, PageFaultThroughMissingGateIsDoubleFaultOnIst)
{
    long64();
    gate64(14, kHandlers);
    bus.put64(kIdt + 14 * 16, bus.get64(kIdt + 14 * 16) & ~(1ull << 47)); // not present
    gate64(8, kHandlers + 0x100, 0, 1);
    bus.load(kCode, { 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40, 0xf4 }); // mov rax,[0x40000000]
    bus.load(kHandlers + 0x100, { 0x5b, 0xf4 });                                 // pop rbx; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0u);
    EXPECT_EQ(st().gpr[x86::Rsp], kIstStack - 40);
    EXPECT_EQ(st().cr2, 0x40000000u);
}

TEST_F(CpuTest, FaultWithEmptyIdtIsTripleFault)
{
    long64();
    st().idt = { 0, 0 };
    bus.load(kCode, { 0x0f, 0x0b }); // ud2
    EXPECT_EQ(run().kind, CpuExit::Kind::TripleFault);
    EXPECT_EQ(run().kind, CpuExit::Kind::TripleFault);
}

TEST_F(CpuTest, RealModeIvtInterrupt)
{
    cpu->init_reset();
    cpu->start_at_sipi(0x10);
    bus.put32(0x21 * 4, 0x10000100); // IVT[0x21] = 1000:0100
    bus.load(kCode, { 0xcd, 0x21, 0xf4 });          // int 0x21; hlt
    bus.load(kCode + 0x100, { 0xb0, 0x55, 0xcf });  // mov al,0x55; iret
    st().gpr[x86::Rsp] = 0x8000;
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax] & 0xff, 0x55u);
    EXPECT_EQ(st().rip, 3u);
    EXPECT_EQ(st().gpr[x86::Rsp], 0x8000u);
}

} // namespace
} // namespace xkvm::emu::test

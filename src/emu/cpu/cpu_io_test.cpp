// Exits and asynchronous events: port I/O, REP string I/O per element, REP interrupted and resumed,
// MMIO read replay, MOVS MMIO->MMIO, self-modifying code, LOCK atomicity across two CPUs, HLT and
// attention, the STI shadow, interrupts and NMIs waiting for IF or IRET.
#include <thread>

#include "emu/cpu/cpu_test_fixture.h"

namespace xkvm::emu::test {
namespace {

TEST_F(CpuTest, PortOutAndInExits)
{
    flat32();
    // mov al,0x41; out 0xe9,al; in al,0x60; mov bl,al; hlt
    bus.load(kCode, { 0xb0, 0x41, 0xe6, 0xe9, 0xe4, 0x60, 0x88, 0xc3, 0xf4 });
    CpuExit e = run();
    ASSERT_EQ(e.kind, CpuExit::Kind::PortOut);
    EXPECT_EQ(e.port, 0xe9);
    EXPECT_EQ(e.size, 1);
    EXPECT_EQ(e.value, 0x41u);
    EXPECT_EQ(st().rip, kCode + 4); // retired
    e = run();
    ASSERT_EQ(e.kind, CpuExit::Kind::PortIn);
    EXPECT_EQ(e.port, 0x60);
    EXPECT_EQ(st().rip, kCode + 4); // not yet
    cpu->complete_read(0x99);
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx] & 0xff, 0x99u);
}

TEST_F(CpuTest, PortIoFromCpl3AboveIoplFaults)
{
    flat32();
    st().seg[SegCs] = flat(kUcode32, 0xb, false, 3);
    st().seg[SegSs] = flat(kUdata, 0x3, false, 3);
    cpu->state_changed();
    gate32(13, uint32_t(kHandlers));
    bus.load(kCode, { 0xb0, 0x41, 0xe6, 0xe9 });
    bus.load(kHandlers, { 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().cpl(), 0);
}

TEST_F(CpuTest, IoBitmapAllowsChosenPortsAtCpl3)
{
    flat32();
    st().seg[SegCs] = flat(kUcode32, 0xb, false, 3);
    st().seg[SegSs] = flat(kUdata, 0x3, false, 3);
    st().tr.limit = 0x68 + 0x20; // a bitmap for ports 0-255 at offset 0x68
    bus.put16(kTss + 0x66, 0x68);
    std::memset(&bus.ram[kTss + 0x68], 0xff, 0x21);
    bus.ram[kTss + 0x68 + 0xe9 / 8] &= uint8_t(~(1u << (0xe9 % 8))); // port 0xe9 allowed
    cpu->state_changed();
    gate32(13, uint32_t(kHandlers));
    bus.load(kHandlers, { 0xf4 });
    bus.load(kCode, { 0xb0, 0x41, 0xe6, 0xe9, 0xe6, 0xea }); // mov al,0x41; out 0xe9,al; out 0xea,al
    CpuExit e = run();
    ASSERT_EQ(e.kind, CpuExit::Kind::PortOut);
    EXPECT_EQ(e.port, 0xe9);
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt); // 0xea: #GP
    EXPECT_EQ(bus.get32(uint32_t(st().gpr[x86::Rsp]) + 4), kCode + 4);
}

TEST_F(CpuTest, RepOutsbExitsPerElement)
{
    flat32();
    bus.load(kData, { 'a', 'b', 'c' });
    // mov esi,0x100000; mov ecx,3; mov dx,0x3f8; rep outsb; hlt
    bus.load(kCode, { 0xbe, 0x00, 0x00, 0x10, 0x00, 0xb9, 0x03, 0x00, 0x00, 0x00, 0x66, 0xba, 0xf8, 0x03,
                      0xf3, 0x6e, 0xf4 });
    std::string out;
    for (int k = 0; k < 3; ++k) {
        CpuExit e = run();
        ASSERT_EQ(e.kind, CpuExit::Kind::PortOut);
        EXPECT_EQ(e.port, 0x3f8);
        out += char(e.value);
        EXPECT_EQ(st().gpr[x86::Rcx], 2u - k);
        EXPECT_EQ(st().rip, k < 2 ? kCode + 14 : kCode + 16);
    }
    EXPECT_EQ(out, "abc");
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
}

TEST_F(CpuTest, RepInsbExitsBeforeEachElement)
{
    flat32();
    // mov edi,0x100000; mov ecx,2; mov dx,0x60; rep insb; hlt
    bus.load(kCode, { 0xbf, 0x00, 0x00, 0x10, 0x00, 0xb9, 0x02, 0x00, 0x00, 0x00, 0x66, 0xba, 0x60, 0x00, 0xf3,
                      0x6c, 0xf4 });
    for (uint8_t k = 0; k < 2; ++k) {
        CpuExit e = run();
        ASSERT_EQ(e.kind, CpuExit::Kind::PortIn);
        EXPECT_EQ(e.port, 0x60);
        EXPECT_EQ(st().gpr[x86::Rcx], 2u - k); // nothing committed for this element yet
        EXPECT_EQ(st().rip, kCode + 14);
        cpu->complete_read(0xa0 + k);
    }
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.ram[kData], 0xa0);
    EXPECT_EQ(bus.ram[kData + 1], 0xa1);
    EXPECT_EQ(st().gpr[x86::Rdi], kData + 2);
}

TEST_F(CpuTest, RepStosInterruptedAndResumed)
{
    long64();
    // mov edi,0x100000; mov ecx,100000; mov al,0xab; rep stosb; hlt
    bus.load(kCode, { 0xbf, 0x00, 0x00, 0x10, 0x00, 0xb9, 0xa0, 0x86, 0x01, 0x00, 0xb0, 0xab, 0xf3, 0xaa, 0xf4 });
    ASSERT_EQ(run(4).kind, CpuExit::Kind::Budget); // three movs and one chunk of the REP
    EXPECT_EQ(st().rip, kCode + 12);
    uint64_t left = st().gpr[x86::Rcx];
    EXPECT_GT(left, 0u);
    EXPECT_LT(left, 100000u);
    cpu->request_stop();
    EXPECT_EQ(run().kind, CpuExit::Kind::Budget);
    EXPECT_EQ(st().gpr[x86::Rcx], left);
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rcx], 0u);
    for (uint64_t a = kData; a < kData + 100000; a += 997)
        ASSERT_EQ(bus.ram[a], 0xab);
    EXPECT_EQ(bus.ram[kData + 100000], 0);
}

TEST_F(CpuTest, MmioReadIsReplayed)
{
    flat32();
    bus.load(kCode, { 0xa1, 0x10, 0x00, 0x80, 0x00, 0xf4 }); // mov eax,[0x800010]; hlt
    CpuExit e = run();
    ASSERT_EQ(e.kind, CpuExit::Kind::MmioRead);
    EXPECT_EQ(e.gpa, kMmioPage + 0x10);
    EXPECT_EQ(e.size, 4);
    EXPECT_EQ(st().rip, kCode);
    bus.pending_vectors.push_back(0x30);
    cpu->raise_attention(); // must not run between the exit and its completion
    st().rflags |= x86::kRflagsIf;
    cpu->complete_read(0xdeadbeef);
    e = run(1);
    EXPECT_EQ(st().gpr[x86::Rax], 0xdeadbeefu);
    EXPECT_EQ(st().rip, kCode + 5);
}

TEST_F(CpuTest, MovsMmioToMmio)
{
    flat32();
    // mov esi,0x800000; mov edi,0x800100; movsd; hlt
    bus.load(kCode, { 0xbe, 0x00, 0x00, 0x80, 0x00, 0xbf, 0x00, 0x01, 0x80, 0x00, 0xa5, 0xf4 });
    CpuExit e = run();
    ASSERT_EQ(e.kind, CpuExit::Kind::MmioRead);
    EXPECT_EQ(e.gpa, kMmioPage);
    cpu->complete_read(0x12345678);
    e = run();
    ASSERT_EQ(e.kind, CpuExit::Kind::MmioWrite);
    EXPECT_EQ(e.gpa, kMmioPage + 0x100);
    EXPECT_EQ(e.value, 0x12345678u);
    EXPECT_EQ(e.size, 4);
    EXPECT_EQ(st().gpr[x86::Rsi], kMmioPage + 4);
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
}

TEST_F(CpuTest, SelfModifyingCode)
{
    flat32();
    // mov ecx,2; xor edx,edx; 1: mov eax,1; add edx,eax; mov byte [0x10008],5; loop 1b; hlt
    bus.load(kCode, { 0xb9, 0x02, 0x00, 0x00, 0x00, 0x31, 0xd2, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x01, 0xc2,
                      0xc6, 0x05, 0x08, 0x00, 0x01, 0x00, 0x05, 0xe2, 0xf0, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rdx], 6u);
    // The VMM rewrites code behind the CPU's back (the hypercall page): mov eax,1 -> mov eax,9.
    bus.ram[kCode + 8] = 9;
    bus.ram[kCode + 14] = 0x90; // and drops the self-modification: nop x7
    std::memset(&bus.ram[kCode + 15], 0x90, 6);
    st().rip = kCode;
    st().run_state = RunState::Running;
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rdx], 18u);
}

TEST_F(CpuTest, LockXaddIsAtomicAcrossCpus)
{
    flat32();
    // mov ecx,200000; 1: mov eax,1; lock xadd [ebx],eax; loop 1b; hlt
    bus.load(kCode, { 0xb9, 0x40, 0x0d, 0x03, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf0, 0x0f, 0xc1, 0x03,
                      0xe2, 0xf5, 0xf4 });
    st().gpr[x86::Rbx] = kData + 2; // misaligned on purpose
    Cpu other(bus);
    other.state() = st();
    other.state_changed();
    auto go = [](Cpu* c) {
        while (c->run(1u << 20).kind != CpuExit::Kind::Halt) {
        }
    };
    std::thread t1(go, cpu.get()), t2(go, &other);
    t1.join();
    t2.join();
    EXPECT_EQ(bus.get32(kData + 2), 400000u);
}

TEST_F(CpuTest, HaltWakesOnAttention)
{
    flat32();
    gate32(0x30, uint32_t(kHandlers));
    bus.load(kCode, { 0xfb, 0xf4, 0xeb, 0xfd });                             // sti; 1: hlt; jmp 1b
    bus.load(kHandlers, { 0xff, 0x05, 0x00, 0x00, 0x10, 0x00, 0xcf });       // inc dword [0x100000]; iret
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt); // nothing to deliver
    cpu->raise_attention();
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt); // attention, but the bus has no vector
    bus.pending_vectors.push_back(0x30);
    cpu->raise_attention();
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData), 1u);
    EXPECT_EQ(st().rip, kCode + 2);
}

TEST_F(CpuTest, StiShadowDelaysInterruptByOneInstruction)
{
    flat32();
    gate32(0x30, uint32_t(kHandlers));
    bus.pending_vectors.push_back(0x30);
    cpu->raise_attention();
    // sti; mov eax,1; mov ebx,2; hlt
    bus.load(kCode, { 0xfb, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xbb, 0x02, 0x00, 0x00, 0x00, 0xf4 });
    // mov [0x100000],eax; mov [0x100004],ebx; hlt
    bus.load(kHandlers, { 0xa3, 0x00, 0x00, 0x10, 0x00, 0x89, 0x1d, 0x04, 0x00, 0x10, 0x00, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData), 1u);
    EXPECT_EQ(bus.get32(kData + 4), 0u);
}

TEST_F(CpuTest, InterruptWaitingForIfArrivesRightAfterPopfSetsIt)
{
    flat32();
    gate32(0x30, uint32_t(kHandlers));
    bus.pending_vectors.push_back(0x30);
    cpu->raise_attention();
    st().gpr[x86::Rax] = 7;
    // mov ecx,50; 1: loop 1b; push 0x202; popf; mov eax,1; hlt
    bus.load(kCode, { 0xb9, 0x32, 0x00, 0x00, 0x00, 0xe2, 0xfe, 0x68, 0x02, 0x02, 0x00, 0x00, 0x9d, 0xb8, 0x01,
                      0x00, 0x00, 0x00, 0xf4 });
    bus.load(kHandlers, { 0xa3, 0x00, 0x00, 0x10, 0x00, 0xf4 }); // mov [0x100000],eax; hlt
    bus.put32(kData, 0xffffffff);
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rcx], 0u);
    EXPECT_EQ(bus.get32(kData), 7u); // before mov eax,1
    EXPECT_EQ(bus.get32(st().gpr[x86::Rsp]), kCode + 13);
}

TEST_F(CpuTest, BlockedNmiArrivesRightAfterIretWhileAnInterruptWaitsForIf)
{
    flat32();
    gate32(2, uint32_t(kHandlers));
    bus.pending_vectors.push_back(0x30); // never taken: IF stays clear
    cpu->raise_attention();
    st().nmi_blocked = true;
    cpu->deliver_nmi();
    st().gpr[x86::Rax] = 7;
    // pushfd; push cs; push kCode+8; iretd; mov eax,1; hlt
    bus.load(kCode, { 0x9c, 0x0e, 0x68, 0x08, 0x00, 0x01, 0x00, 0xcf, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4 });
    bus.load(kHandlers, { 0xa3, 0x00, 0x00, 0x10, 0x00, 0xf4 }); // mov [0x100000],eax; hlt
    bus.put32(kData, 0xffffffff);
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData), 7u); // before mov eax,1
    EXPECT_EQ(bus.get32(st().gpr[x86::Rsp]), kCode + 8);
    EXPECT_EQ(bus.pending_vectors.size(), 1u);
}

TEST_F(CpuTest, NmiIsDeliveredAndBlocksUntilIret)
{
    flat32();
    gate32(2, uint32_t(kHandlers));
    bus.load(kCode, { 0xf4, 0xf4 });
    bus.load(kHandlers, { 0xff, 0x05, 0x00, 0x00, 0x10, 0x00, 0xcf }); // inc dword [0x100000]; iret
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    cpu->deliver_nmi();
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData), 1u);
    EXPECT_FALSE(st().nmi_blocked);
}

TEST_F(CpuTest, SingleStepReportsDebugExits)
{
    long64();
    bus.load(kCode, { 0x90, 0x90, 0xf4 });
    cpu->set_single_step(true);
    EXPECT_EQ(run().kind, CpuExit::Kind::Debug);
    EXPECT_EQ(st().rip, kCode + 1);
    EXPECT_EQ(run().kind, CpuExit::Kind::Debug);
    cpu->set_single_step(false);
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt);
}

TEST_F(CpuTest, HypercallExitAfterRetire)
{
    long64();
    bus.load(kCode, { 0x0f, 0x01, 0xc1, 0xf4 }); // vmcall; hlt
    CpuExit e = run();
    ASSERT_EQ(e.kind, CpuExit::Kind::Hypercall);
    EXPECT_EQ(st().rip, kCode + 3);
}

TEST_F(CpuTest, UnknownMsrExitsAndFaultsOnRequest)
{
    long64();
    gate64(13, kHandlers);
    bus.load(kHandlers, { 0xf4 });
    st().gpr[x86::Rcx] = 0x40000000;
    bus.load(kCode, { 0x0f, 0x32, 0x0f, 0x32 }); // rdmsr; rdmsr
    CpuExit e = run();
    ASSERT_EQ(e.kind, CpuExit::Kind::MsrRead);
    EXPECT_EQ(e.msr, 0x40000000u);
    cpu->complete_msr(0x1122334455667788ull, false);
    e = run();
    ASSERT_EQ(e.kind, CpuExit::Kind::MsrRead);
    EXPECT_EQ(st().gpr[x86::Rax], 0x55667788u);
    EXPECT_EQ(st().gpr[x86::Rdx], 0x11223344u);
    cpu->complete_msr(0, true);
    EXPECT_EQ(run().kind, CpuExit::Kind::Halt); // #GP
}

} // namespace
} // namespace xkvm::emu::test

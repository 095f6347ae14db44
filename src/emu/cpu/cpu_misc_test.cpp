// Instruction-level behaviour: TF single-step #DB, the MOV SS shadow, LSL/LAR, REPE CMPS, far
// CALL/RET, compatibility mode under a 64-bit kernel, CMPXCHG, ENTER/LEAVE, INVLPG, POPF at CPL3,
// decoding the same bytes again (another code size, across a page end), and the cases the
// instruction-level differential test (insn_diff_test.cpp) found.
#include "emu/cpu/cpu_test_fixture.h"

namespace xkvm::emu::test {
namespace {

TEST_F(CpuTest, TrapFlagRaisesDebugTrapAfterNextInstruction)
{
    long64();
    gate64(1, kHandlers);
    // pushf; or dword [rsp],0x100; popf; nop; nop; hlt
    bus.load(kCode, { 0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90, 0x90, 0xf4 });
    bus.load(kHandlers, { 0x48, 0x8b, 0x1c, 0x24, 0x0f, 0x21, 0xf1, 0xf4 }); // mov rbx,[rsp]; mov rcx,dr6; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], kCode + 10); // a trap: after the first nop
    EXPECT_TRUE(st().gpr[x86::Rcx] & 0x4000);  // DR6.BS
    EXPECT_FALSE(st().rflags & 0x100);
}

TEST_F(CpuTest, SignedImmediatesAreSignExtendedToTheOperandSize)
{
    long64();
    // mov rsi,-38 (imm32); push -2 (imm8); pop rdi; mov eax,-1 (imm32, 32-bit: upper half zero); hlt
    bus.load(kCode, { 0x48, 0xc7, 0xc6, 0xda, 0xff, 0xff, 0xff, 0x6a, 0xfe, 0x5f, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rsi], static_cast<uint64_t>(-38));
    EXPECT_EQ(st().gpr[x86::Rdi], static_cast<uint64_t>(-2));
    EXPECT_EQ(st().gpr[x86::Rax], 0xffffffffull);
}

TEST_F(CpuTest, MovSsShadowsTheNextInstruction)
{
    flat32();
    gate32(0x30, uint32_t(kHandlers));
    st().gpr[x86::Rax] = kKdata;
    bus.pending_vectors.push_back(0x30);
    cpu->raise_attention();
    bus.load(kCode, { 0xfb, 0x8e, 0xd0, 0xb9, 0x01, 0x00, 0x00, 0x00, 0xf4 }); // sti; mov ss,ax; mov ecx,1; hlt
    bus.load(kHandlers, { 0x89, 0x0d, 0x00, 0x00, 0x10, 0x00, 0xf4 });        // mov [0x100000],ecx; hlt
    bus.put32(kData, 0xffffffff);
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData), 1u);
}

TEST_F(CpuTest, TheSameBytesDecodeAgainInAnotherCodeSize)
{
    flat32();
    bus.load(kCode, { 0xb8, 0x01, 0x00, 0x02, 0x00, 0xf4 }); // mov eax,0x20001; hlt
    st().rip = kCode + 5;
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt); // the hlt decoded first: mov is the last decoded
    st().rip = kCode;
    st().run_state = RunState::Running;
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    ASSERT_EQ(st().gpr[x86::Rax], 0x20001u);
    // The same bytes as 16-bit code: mov ax,1; add al,[bx+si]; hlt
    bus.load(kCode + 0x100, { 0xb8, 0x01, 0x00, 0x02, 0x00, 0xf4 });
    st().seg[SegCs].db = false;
    st().seg[SegCs].base = kCode;
    st().rip = 0x100;
    st().gpr[x86::Rax] = 0xffff0000;
    st().gpr[x86::Rbx] = st().gpr[x86::Rsi] = 0;
    st().run_state = RunState::Running;
    cpu->state_changed();
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax], 0xffff0001u + bus.ram[0]);
    EXPECT_EQ(st().rip, 0x106u);
}

TEST_F(CpuTest, AnInstructionAcrossAPageEndIsDecodedFromBothPages)
{
    flat32();
    // add eax,-255, then add eax,1 whose immediate's last three bytes open the next page; hlt
    bus.load(kCode + 0xff9, { 0x05, 0x01, 0xff, 0xff, 0xff, 0x05, 0x01 });
    bus.load(kCode + 0x1000, { 0x00, 0x00, 0x00, 0xf4 });
    st().rip = kCode + 0xff9;
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax], 0xffffff02u);
}

TEST_F(CpuTest, ARunOfIdenticalInstructionsRunsEachOfThem)
{
    long64();
    std::memset(&bus.ram[kCode], 0x90, 0x3000); // across pages, nops
    for (uint64_t a = kCode + 1; a < kCode + 0x3000; a += 0x400)
        bus.load(a, { 0xff, 0xc0 }); // inc eax
    bus.ram[kCode + 0x3000] = 0xf4;
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax], 12u);
    EXPECT_EQ(st().rip, kCode + 0x3001);
}

TEST_F(CpuTest, LslAndLar)
{
    flat32();
    // mov eax,8; lsl ebx,eax; setz cl; mov eax,0x1234; lsl edx,eax; setz ch; mov eax,0x38; lar esi,eax; hlt
    bus.load(kCode, { 0xb8, 0x08, 0x00, 0x00, 0x00, 0x0f, 0x03, 0xd8, 0x0f, 0x94, 0xc1, 0xb8, 0x34, 0x12, 0x00,
                      0x00, 0x0f, 0x03, 0xd0, 0x0f, 0x94, 0xc5, 0xb8, 0x38, 0x00, 0x00, 0x00, 0x0f, 0x02, 0xf0, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0xffffffffu);
    EXPECT_EQ(st().gpr[x86::Rcx] & 0xffff, 0x0001u); // ZF for the GDT entry, not for 0x1234
    EXPECT_EQ(st().gpr[x86::Rsi], 0x8900u);          // the TSS: present, type 9
}

TEST_F(CpuTest, RepeCmpsStopsAtFirstDifference)
{
    flat32();
    for (int k = 0; k < 16; ++k)
        bus.ram[kData + k] = bus.ram[kData + 0x100 + k] = uint8_t(k);
    bus.ram[kData + 0x100 + 5] = 0xee;
    // mov esi,0x100000; mov edi,0x100100; mov ecx,16; cld; repe cmpsb; hlt
    bus.load(kCode, { 0xbe, 0x00, 0x00, 0x10, 0x00, 0xbf, 0x00, 0x01, 0x10, 0x00, 0xb9, 0x10, 0x00, 0x00, 0x00,
                      0xfc, 0xf3, 0xa6, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rcx], 10u);
    EXPECT_EQ(st().gpr[x86::Rsi], kData + 6);
    EXPECT_FALSE(st().rflags & 0x40);
}

TEST_F(CpuTest, FarCallAndFarReturn32)
{
    flat32();
    bus.load(kCode, { 0x9a, 0x00, 0x00, 0x02, 0x00, 0x08, 0x00, 0xbb, 0x05, 0x00, 0x00, 0x00, 0xf4 }); // lcall 8:0x20000; mov ebx,5; hlt
    bus.load(kHandlers, { 0xb8, 0x07, 0x00, 0x00, 0x00, 0xcb });                                     // mov eax,7; lret
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax], 7u);
    EXPECT_EQ(st().gpr[x86::Rbx], 5u);
    EXPECT_EQ(st().gpr[x86::Rsp], kKernelStack);
    EXPECT_EQ(st().seg[SegCs].selector, kKcode32);
}

TEST_F(CpuTest, CompatibilityModeUserUnder64BitKernel)
{
    long64();
    gate64(6, kHandlers);
    // push 0x23; push 0x70000; push 2; push 0x1b; push 0x10100; iretq
    bus.load(kCode, { 0x6a, 0x23, 0x68, 0x00, 0x00, 0x07, 0x00, 0x6a, 0x02, 0x6a, 0x1b, 0x68, 0x00, 0x01, 0x01,
                      0x00, 0x48, 0xcf });
    // 32-bit: mov eax,0x11223344; mov ebx,eax; add eax,ebx; ud2
    bus.load(kCode + 0x100, { 0xb8, 0x44, 0x33, 0x22, 0x11, 0x89, 0xc3, 0x01, 0xd8, 0x0f, 0x0b });
    bus.load(kHandlers, { 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax], 0x22446688u);
    uint64_t sp = st().gpr[x86::Rsp];
    EXPECT_EQ(bus.get64(sp), kCode + 0x109);
    EXPECT_EQ(bus.get64(sp + 8), 0x1bu);
    EXPECT_EQ(bus.get64(sp + 24), 0x70000u);
}

TEST_F(CpuTest, LockCmpxchg)
{
    long64();
    bus.put32(kData, 5);
    // mov eax,5; mov ecx,9; lock cmpxchg [0x100000],ecx; setz bl; lock cmpxchg [0x100000],ecx; setz dl; hlt
    bus.load(kCode, { 0xb8, 0x05, 0x00, 0x00, 0x00, 0xb9, 0x09, 0x00, 0x00, 0x00, 0xf0, 0x0f, 0xb1, 0x0c, 0x25,
                      0x00, 0x00, 0x10, 0x00, 0x0f, 0x94, 0xc3, 0xf0, 0x0f, 0xb1, 0x0c, 0x25, 0x00, 0x00, 0x10,
                      0x00, 0x0f, 0x94, 0xc2, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get32(kData), 9u);
    EXPECT_EQ(st().gpr[x86::Rbx] & 0xff, 1u);
    EXPECT_EQ(st().gpr[x86::Rdx] & 0xff, 0u);
    EXPECT_EQ(st().gpr[x86::Rax], 9u); // the second one loaded the current value
}

TEST_F(CpuTest, LockedAddAcrossACacheLineIsNotAHostSplitLock)
{
    long64();
    bus.put64(kData + 60, 0xffffffffull);
    // lock add qword [0x10003c],1; hlt — the operand spans bytes 60..67 of a 64-byte line
    bus.load(kCode, { 0xf0, 0x48, 0x83, 0x04, 0x25, 0x3c, 0x00, 0x10, 0x00, 0x01, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(bus.get64(kData + 60), 0x100000000ull);
}

TEST_F(CpuTest, EnterLeave)
{
    flat32();
    st().gpr[x86::Rbp] = 0x1234;
    bus.load(kCode, { 0xc8, 0x10, 0x00, 0x00, 0x89, 0xe3, 0x89, 0xe9, 0xc9, 0xf4 }); // enter 16,0; mov ebx,esp; mov ecx,ebp; leave; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rcx], kKernelStack - 4);
    EXPECT_EQ(st().gpr[x86::Rbx], kKernelStack - 20);
    EXPECT_EQ(st().gpr[x86::Rbp], 0x1234u);
    EXPECT_EQ(st().gpr[x86::Rsp], kKernelStack);
}

TEST_F(CpuTest, InvlpgSeesTheNewMapping)
{
    long64();
    bus.put64(kPd + 8, 0x5000 | 7);
    bus.put64(0x5000, 0x200000 | 7);
    bus.put32(0x200000, 0x22);
    bus.put32(0x300000, 0x33);
    // mov eax,[0x200000]; mov qword [0x5000],0x300007; mov ebx,[0x200000]; invlpg [0x200000]; mov ecx,[0x200000]; hlt
    bus.load(kCode, { 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0x48, 0xc7, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00,
                      0x07, 0x00, 0x30, 0x00, 0x8b, 0x1c, 0x25, 0x00, 0x00, 0x20, 0x00, 0x0f, 0x01, 0x3c, 0x25,
                      0x00, 0x00, 0x20, 0x00, 0x8b, 0x0c, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rax], 0x22u);
    EXPECT_EQ(st().gpr[x86::Rcx], 0x33u);
}

TEST_F(CpuTest, PopfAtCpl3KeepsIf)
{
    flat32();
    st().seg[SegCs] = flat(kUcode32, 0xb, false, 3);
    st().seg[SegSs] = flat(kUdata, 0x3, false, 3);
    st().gpr[x86::Rsp] = kUserStack;
    st().rflags |= x86::kRflagsIf;
    cpu->state_changed();
    gate32(6, uint32_t(kHandlers));
    // pushf; pop eax; and eax,~0x200; push eax; popf; pushf; pop ebx; ud2
    bus.load(kCode, { 0x9c, 0x58, 0x25, 0xff, 0xfd, 0xff, 0xff, 0x50, 0x9d, 0x9c, 0x5b, 0x0f, 0x0b });
    bus.load(kHandlers, { 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_TRUE(st().gpr[x86::Rbx] & 0x200);
}

TEST_F(CpuTest, X87AndSseFaultArchitecturally)
{
    long64();
    gate64(6, kHandlers);
    gate64(7, kHandlers + 0x10);
    bus.load(kHandlers, { 0xb3, 0x06, 0xf4 });        // mov bl,6; hlt
    bus.load(kHandlers + 0x10, { 0xb3, 0x07, 0xf4 }); // mov bl,7; hlt
    bus.load(kCode, { 0xd9, 0xe8 });                   // fld1
    st().cr0 |= 8;                                     // TS
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx] & 0xff, 7u);          // #NM
    st().rip = kCode;
    st().gpr[x86::Rsp] = kKernelStack;
    st().run_state = RunState::Running;
    bus.load(kCode, { 0x66, 0x0f, 0xef, 0xc0 });       // pxor xmm0,xmm0 without CR4.OSFXSR
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx] & 0xff, 6u);          // #UD
}

// Found by the instruction-level differential test (insn_diff_test.cpp).
TEST_F(CpuTest, PopcntIsAnIntegerInstruction)
{
    long64(); // CR4.OSFXSR clear: an SSE instruction would raise #UD here
    st().gpr[x86::Rbx] = 0xff00ff;
    bus.load(kCode, { 0xf3, 0x48, 0x0f, 0xb8, 0xc3, 0xf4 }); // popcnt rax,rbx; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().rip, kCode + 6);
    EXPECT_EQ(st().gpr[x86::Rax], 16u);
}

TEST_F(CpuTest, XaddOfARegisterWithItselfLeavesTheSum)
{
    long64();
    st().gpr[x86::Rbx] = 5;
    bus.load(kCode, { 0x48, 0x0f, 0xc1, 0xdb, 0xf4 }); // xadd rbx,rbx; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 10u);
}

TEST_F(CpuTest, Cmpxchg32MismatchLeavesTheRegisterDestinationAlone)
{
    long64();
    st().gpr[x86::Rax] = 0xaaaaaaaa00000001ull;
    st().gpr[x86::Rcx] = 0xffffffff00000002ull;
    bus.load(kCode, { 0x0f, 0xb1, 0xd1, 0xf4 }); // cmpxchg ecx,edx; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rcx], 0xffffffff00000002ull); // not zero-extended
    EXPECT_EQ(st().gpr[x86::Rax], 2u);                    // EAX loaded, zero-extended
    EXPECT_FALSE(st().rflags & 0x40);
}

TEST_F(CpuTest, BitScan32OfZeroLeavesTheWholeDestination)
{
    long64();
    st().gpr[x86::Rdx] = 0xdeadbeef12345678ull;
    st().gpr[x86::Rsi] = 0xcafef00d87654321ull;
    st().gpr[x86::Rbx] = 0;
    bus.load(kCode, { 0x0f, 0xbc, 0xd3, 0x0f, 0xbd, 0xf3, 0xf4 }); // bsf edx,ebx; bsr esi,ebx; hlt
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rdx], 0xdeadbeef12345678ull);
    EXPECT_EQ(st().gpr[x86::Rsi], 0xcafef00d87654321ull);
    EXPECT_TRUE(st().rflags & 0x40);
}

TEST_F(CpuTest, SibWithoutBaseUnderAddressSize32AndRexB)
{
    long64();
    st().gpr[x86::Rbx] = 0x10;
    st().gpr[x86::R13] = 0x5000; // REX.B must not turn "no base" into R13
    // lea rbx,[ebx*2+0xff] (67 49 8d 1c 5d disp32); hlt
    bus.load(kCode, { 0x67, 0x49, 0x8d, 0x1c, 0x5d, 0xff, 0x00, 0x00, 0x00, 0xf4 });
    ASSERT_EQ(run().kind, CpuExit::Kind::Halt);
    EXPECT_EQ(st().gpr[x86::Rbx], 0x11fu);
}

TEST(EmuStateTest, CpuStateRoundTrip)
{
    x86::CpuState cs = x86::flat_long_mode_64();
    cs.gpr[x86::R15] = 0x1515;
    cs.rip = 0xffffffff80001000ull;
    cs.fs.base = 0x7000;
    cs.cr3 = 0x123000;
    cs.idt = { 0x4000, 0xfff };
    EmuState st;
    st.interrupt_shadow = true;
    apply_cpu_state(st, cs);
    EXPECT_FALSE(st.interrupt_shadow);
    EXPECT_EQ(st.seg[SegFs].base, 0x7000u);
    EXPECT_TRUE(st.seg[SegCs].l);
    x86::CpuState back = to_cpu_state(st);
    EXPECT_EQ(back.gpr[x86::R15], 0x1515u);
    EXPECT_EQ(back.rip, cs.rip);
    EXPECT_EQ(back.cr3, cs.cr3);
    EXPECT_EQ(back.efer, cs.efer);
    EXPECT_EQ(back.idt.base, 0x4000u);
    EXPECT_EQ(back.tr.selector, cs.tr.selector);
}

} // namespace
} // namespace xkvm::emu::test

#include <gtest/gtest.h>

#include "vmevent/event_codec.h"

using namespace xkvm;
using namespace xkvm::vmevent;

TEST(VmEventCodec, RequestCarriesTheRegisters)
{
    x86::CpuState st;
    for (int i = 0; i < 16; ++i)
        st.gpr[i] = 0x1000 + i;
    st.rip = 0xffff800000001234;
    st.cr3 = 0x5000;
    st.cs.selector = 0x10;
    st.cs.l = true;
    st.cs.present = true;
    Event e = make_request(kReasonGuestRequest, 3, st);
    EXPECT_EQ(e.version, kInterfaceVersion);
    EXPECT_EQ(e.reason, kReasonGuestRequest);
    EXPECT_EQ(e.vcpu_id, 3u);
    EXPECT_EQ(e.regs.x86.rax, 0x1000u);
    EXPECT_EQ(e.regs.x86.rdx, 0x1002u);
    EXPECT_EQ(e.regs.x86.r10, 0x100au);
    EXPECT_EQ(e.regs.x86.r15, 0x100fu);
    EXPECT_EQ(e.regs.x86.rip, st.rip);
    EXPECT_EQ(e.regs.x86.cr3, 0x5000u);
    EXPECT_EQ(e.regs.x86.cs_sel, 0x10);
    EXPECT_NE(e.regs.x86.cs & (1u << (20 + 9)), 0u) << "CS.L in the attribute bits";
}

TEST(VmEventCodec, ResponseFlagsBecomeActions)
{
    Event rsp {};
    rsp.version = kInterfaceVersion;
    rsp.vcpu_id = 1;
    rsp.flags = kFlagVcpuPaused | kFlagToggleSinglestep | kFlagEmulate;
    auto a = decode_response(rsp, 2);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->vcpu, 1u);
    EXPECT_TRUE(a->unpause);
    EXPECT_TRUE(a->toggle_singlestep);
    EXPECT_EQ(a->verdict, Verdict::Emulate);
    EXPECT_FALSE(a->regs);

    rsp.flags = kFlagDeny | kFlagEmulate | kFlagSetRegisters;
    rsp.regs.x86.rip = 0x4242;
    rsp.regs.x86.rflags = 0;
    rsp.regs.x86.r9 = 9;
    a = decode_response(rsp, 2);
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->unpause);
    EXPECT_EQ(a->verdict, Verdict::Deny);
    ASSERT_TRUE(a->regs);
    EXPECT_EQ(a->regs->rip, 0x4242u);
    EXPECT_EQ(a->regs->gpr[x86::R9], 9u);
    EXPECT_EQ(a->regs->rflags, x86::kRflagsReserved1);
}

TEST(VmEventCodec, BadResponsesAreRefused)
{
    Event rsp {};
    rsp.version = 6;
    EXPECT_FALSE(decode_response(rsp, 1));
    rsp.version = kInterfaceVersion;
    rsp.vcpu_id = 1;
    auto r = decode_response(rsp, 1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EPROTO);
}

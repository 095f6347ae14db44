// The layouts a Xen monitor expects, field by field (version 7).
#include <gtest/gtest.h>

#include <cstddef>

#include "vmevent/abi.h"
#include "vmevent/ring.h"
#include "vmevent/slots.h"

using namespace xkvm::vmevent;

TEST(VmEventAbi, RequestHeaderAndUnions)
{
    EXPECT_EQ(offsetof(Event, version), 0u);
    EXPECT_EQ(offsetof(Event, flags), 4u);
    EXPECT_EQ(offsetof(Event, reason), 8u);
    EXPECT_EQ(offsetof(Event, vcpu_id), 12u);
    EXPECT_EQ(offsetof(Event, altp2m_idx), 16u);
    EXPECT_EQ(offsetof(Event, u), 24u);
    EXPECT_EQ(offsetof(Event, regs), 56u);
    EXPECT_EQ(sizeof(Event), 392u);
    EXPECT_EQ(sizeof(MemAccess), 32u);
    EXPECT_EQ(offsetof(MemAccess, flags), 24u);
    EXPECT_EQ(sizeof(WriteCtrlreg), 24u);
    EXPECT_EQ(sizeof(MovToMsr), 24u);
    EXPECT_EQ(sizeof(DebugEvent), 24u);
    EXPECT_EQ(offsetof(DebugEvent, insn_length), 16u);
    EXPECT_EQ(sizeof(DescAccess), 24u);
    EXPECT_EQ(offsetof(DescAccess, descriptor), 16u);
}

TEST(VmEventAbi, RegistersVersion7)
{
    EXPECT_EQ(offsetof(RegsX86, rflags), 128u);
    EXPECT_EQ(offsetof(RegsX86, rip), 152u);
    EXPECT_EQ(offsetof(RegsX86, cr3), 176u);
    EXPECT_EQ(offsetof(RegsX86, gdtr_base), 240u);
    EXPECT_EQ(offsetof(RegsX86, npt_base), 248u);
    EXPECT_EQ(offsetof(RegsX86, cs_base), 256u);
    EXPECT_EQ(offsetof(RegsX86, fs_base), 272u);
    EXPECT_EQ(offsetof(RegsX86, cs), 288u);
    EXPECT_EQ(offsetof(RegsX86, shadow_gs), 312u);
    EXPECT_EQ(offsetof(RegsX86, gdtr_limit), 320u);
    EXPECT_EQ(offsetof(RegsX86, gs_sel), 332u);
    EXPECT_EQ(sizeof(RegsX86), 336u);
}

TEST(VmEventAbi, ReasonAndFlagNumbersAreXens)
{
    EXPECT_EQ(kReasonMemAccess, 1u);
    EXPECT_EQ(kReasonWriteCtrlreg, 4u);
    EXPECT_EQ(kReasonMovToMsr, 5u);
    EXPECT_EQ(kReasonSoftwareBreakpoint, 6u);
    EXPECT_EQ(kReasonSinglestep, 7u);
    EXPECT_EQ(kReasonGuestRequest, 8u);
    EXPECT_EQ(kReasonDescriptorAccess, 13u);
    EXPECT_EQ(kFlagEmulate, 4u);
    EXPECT_EQ(kFlagDeny, 64u);
    EXPECT_EQ(kFlagSetRegisters, 256u);
    EXPECT_EQ(kXenmemRwx, 7u);
    EXPECT_EQ(kXenmemDefault, 10u);
}

TEST(VmEventAbi, SlotsAndRingGeometry)
{
    EXPECT_EQ(offsetof(Slot, state), 0u);
    EXPECT_EQ(offsetof(Slot, u), 8u);
    EXPECT_EQ(sizeof(Slot), 400u);
    EXPECT_EQ(kSlotIdle, 0u);
    EXPECT_EQ(kSlotSubmit, 1u);
    EXPECT_EQ(kSlotFinish, 2u);
    EXPECT_EQ(offsetof(RingHeader, rsp_prod), 8u);
    // Xen's rounding: (4096 - 64) / 392 = 10 entries fit, a power of two is used: 8.
    EXPECT_EQ(ring_entries(4096), 8u);
    EXPECT_EQ(ring_entries(2 * 4096), 16u);
    EXPECT_EQ(ring_entries(64), 0u);
    EXPECT_EQ(slot_area_bytes(8), 4096u);
    EXPECT_EQ(slot_area_bytes(11), 8192u);
}

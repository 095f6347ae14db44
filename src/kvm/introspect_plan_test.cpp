// The pure parts of KVM introspection, without /dev/kvm: frame sets, memslot splitting, the MSR
// filter's ranges and bitmaps, guest-debug flags, and what each answer does.
#include <gtest/gtest.h>

#include <linux/kvm.h>

#include "kvm/introspect_plan.h"

using namespace xkvm;
using namespace xkvm::kvm;

namespace {

constexpr uint64_t kPage = 4096;

bool denied(const MsrWriteRange& r, uint32_t index)
{
    uint32_t bit = index - r.base;
    return bit < r.nmsrs && !(r.bitmap[bit / 8] & (1u << (bit % 8)));
}

TEST(FrameRanges, AssignMergesSplitsAndRemoves)
{
    FrameRanges f;
    f.assign(10, 20, true);
    f.assign(20, 30, true); // adjacent: one range
    EXPECT_EQ(f.within(0, 100), (std::vector<std::pair<uint64_t, uint64_t>> { { 10, 30 } }));
    f.assign(15, 17, false); // a hole splits it
    EXPECT_EQ(f.within(0, 100), (std::vector<std::pair<uint64_t, uint64_t>> { { 10, 15 }, { 17, 30 } }));
    EXPECT_TRUE(f.contains(14));
    EXPECT_FALSE(f.contains(15));
    EXPECT_FALSE(f.contains(30));
    EXPECT_EQ(f.within(12, 18), (std::vector<std::pair<uint64_t, uint64_t>> { { 12, 15 }, { 17, 18 } }));
    f.assign(15, 17, true); // filled again: one range
    EXPECT_EQ(f.within(0, 100).size(), 1u);
    f.assign(0, 100, false);
    EXPECT_TRUE(f.empty());
}

TEST(SplitByWriteLimits, LimitedFramesBecomeReadOnlyPieces)
{
    FrameRanges f;
    f.assign(0x3, 0x4, true);
    f.assign(0x7, 0x9, true);
    f.assign(0x100, 0x200, true); // outside the mapping
    auto pieces = split_by_write_limits(0, 0x10 * kPage, false, f);
    std::vector<SlotPiece> want = {
        { 0, 3 * kPage, 0, false },
        { 3 * kPage, kPage, 3 * kPage, true },
        { 4 * kPage, 3 * kPage, 4 * kPage, false },
        { 7 * kPage, 2 * kPage, 7 * kPage, true },
        { 9 * kPage, 7 * kPage, 9 * kPage, false },
    };
    EXPECT_EQ(pieces, want);
}

TEST(SplitByWriteLimits, EdgesAndOffsetsFollowTheMapping)
{
    FrameRanges f;
    f.assign(0x100, 0x102, true); // the mapping's first two frames
    f.assign(0x10f, 0x120, true); // its last frame and beyond
    auto pieces = split_by_write_limits(0x100 * kPage, 0x10 * kPage, false, f);
    std::vector<SlotPiece> want = {
        { 0x100 * kPage, 2 * kPage, 0, true },
        { 0x102 * kPage, 0xd * kPage, 2 * kPage, false },
        { 0x10f * kPage, kPage, 0xf * kPage, true },
    };
    EXPECT_EQ(pieces, want);
    // No limits: one piece; a read-only mapping stays one read-only piece whatever the limits.
    EXPECT_EQ(split_by_write_limits(0x100 * kPage, 0x10 * kPage, false, FrameRanges {}).size(), 1u);
    EXPECT_EQ(split_by_write_limits(0x100 * kPage, 0x10 * kPage, true, f),
              (std::vector<SlotPiece> { { 0x100 * kPage, 0x10 * kPage, 0, true } }));
}

TEST(MsrWriteFilter, DeniesExactlyTheListedMsrs)
{
    std::vector<uint32_t> msrs = { 0xc0000082, 0x174, 0xc0000080, 0x174, 0x40000000 };
    auto ranges = plan_msr_write_filter(msrs);
    ASSERT_TRUE(ranges) << ranges.error().message;
    ASSERT_EQ(ranges->size(), 3u); // 0x174 | 0x40000000 | 0xc0000080..82
    EXPECT_EQ((*ranges)[0].base, 0x174u);
    EXPECT_EQ((*ranges)[2].base, 0xc0000080u);
    EXPECT_EQ((*ranges)[2].nmsrs, 3u);
    for (uint32_t index : msrs) {
        auto it = std::find_if(ranges->begin(), ranges->end(), [&](auto& r) { return denied(r, index); });
        EXPECT_NE(it, ranges->end()) << std::hex << index;
    }
    EXPECT_FALSE(denied((*ranges)[2], 0xc0000081)); // between two listed ones: allowed
    for (const MsrWriteRange& r : *ranges)
        EXPECT_EQ(r.bitmap.size(), (r.nmsrs + 7) / 8);
}

TEST(MsrWriteFilter, SpreadWithinOneBitmapOrAcrossRanges)
{
    std::vector<uint32_t> near = { 0, kMaxMsrsPerRange - 1 };
    auto one = plan_msr_write_filter(near).release_value();
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].bitmap.size(), 0x600u);
    EXPECT_TRUE(denied(one[0], kMaxMsrsPerRange - 1));
    std::vector<uint32_t> apart = { 0, kMaxMsrsPerRange };
    EXPECT_EQ(plan_msr_write_filter(apart)->size(), 2u);
    std::vector<uint32_t> spread;
    for (uint32_t k = 0; k < kMaxMsrFilterRanges + 1; ++k)
        spread.push_back(0x10000 * (k + 1));
    auto too_many = plan_msr_write_filter(spread);
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, E2BIG);
    spread.pop_back();
    EXPECT_TRUE(plan_msr_write_filter(spread));
    EXPECT_TRUE(plan_msr_write_filter({})->empty()); // no intercepts: the filter is lifted
}

TEST(MsrWriteFilter, RefusesX2apicMsrs)
{
    std::vector<uint32_t> msrs = { 0x830 };
    auto r = plan_msr_write_filter(msrs);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EINVAL);
}

TEST(GuestDebug, ControlCombinesSingleStepAndBreakpoints)
{
    EXPECT_EQ(guest_debug_control(false, false), 0u);
    EXPECT_EQ(guest_debug_control(true, false), uint32_t(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP));
    EXPECT_EQ(guest_debug_control(false, true), uint32_t(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP));
    EXPECT_EQ(guest_debug_control(true, true),
              uint32_t(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_SW_BP));
}

TEST(FinishAction, EachAnswerForEachExit)
{
    using What = hv::IntrospectExit::What;
    using F = hv::InterceptFinish;
    EXPECT_EQ(finish_action(What::MemAccess, F::Execute), FinishAction::WriteToRam);
    EXPECT_EQ(finish_action(What::MemAccess, F::Skip), FinishAction::DropWrite);
    EXPECT_EQ(finish_action(What::MemAccess, F::Retry), FinishAction::HoldWrite);
    EXPECT_EQ(finish_action(What::Breakpoint, F::Execute), FinishAction::InjectBp);
    EXPECT_EQ(finish_action(What::Breakpoint, F::Skip), FinishAction::SkipBp);
    EXPECT_EQ(finish_action(What::Breakpoint, F::Retry), FinishAction::Reenter);
    EXPECT_EQ(finish_action(What::MsrWrite, F::Execute), FinishAction::ApplyMsr);
    EXPECT_EQ(finish_action(What::MsrWrite, F::Skip), FinishAction::DropMsr);
    EXPECT_EQ(finish_action(What::MsrWrite, F::Retry), FinishAction::RetryMsr);
}

} // namespace

#include "kvm/introspect_plan.h"

#include <algorithm>
#include <linux/kvm.h>

namespace xkvm::kvm {

void FrameRanges::assign(uint64_t first, uint64_t end, bool in)
{
    // Cut the ranges that straddle either edge, drop everything inside, then add and merge.
    for (uint64_t edge : { first, end }) {
        auto it = m_ranges.upper_bound(edge);
        if (it != m_ranges.begin() && std::prev(it)->second > edge) {
            --it;
            m_ranges[edge] = it->second;
            it->second = edge;
        }
    }
    m_ranges.erase(m_ranges.lower_bound(first), m_ranges.lower_bound(end));
    if (!in)
        return;
    auto it = m_ranges.emplace(first, end).first;
    if (auto next = std::next(it); next != m_ranges.end() && next->first == end) {
        it->second = next->second;
        m_ranges.erase(next);
    }
    if (it != m_ranges.begin()) {
        if (auto prev = std::prev(it); prev->second == first) {
            prev->second = it->second;
            m_ranges.erase(it);
        }
    }
}

bool FrameRanges::contains(uint64_t frame) const
{
    auto it = m_ranges.upper_bound(frame);
    return it != m_ranges.begin() && std::prev(it)->second > frame;
}

std::vector<std::pair<uint64_t, uint64_t>> FrameRanges::within(uint64_t first, uint64_t end) const
{
    std::vector<std::pair<uint64_t, uint64_t>> out;
    auto it = m_ranges.upper_bound(first);
    if (it != m_ranges.begin())
        --it;
    for (; it != m_ranges.end() && it->first < end; ++it) {
        uint64_t lo = std::max(it->first, first), hi = std::min(it->second, end);
        if (lo < hi)
            out.emplace_back(lo, hi);
    }
    return out;
}

std::vector<SlotPiece> split_by_write_limits(uint64_t gpa, uint64_t size, bool readonly, const FrameRanges& limited)
{
    constexpr uint64_t kPage = 4096;
    if (readonly)
        return { { gpa, size, 0, true } };
    std::vector<SlotPiece> out;
    uint64_t at = gpa;
    auto add = [&](uint64_t end, bool ro) {
        if (end > at)
            out.push_back({ at, end - at, at - gpa, ro });
        at = end;
    };
    for (auto [first, end] : limited.within(gpa / kPage, (gpa + size) / kPage)) {
        add(first * kPage, false);
        add(end * kPage, true);
    }
    add(gpa + size, false);
    return out;
}

Result<std::vector<MsrWriteRange>> plan_msr_write_filter(std::span<const uint32_t> msrs)
{
    std::vector<uint32_t> sorted(msrs.begin(), msrs.end());
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::vector<MsrWriteRange> out;
    for (uint32_t index : sorted) {
        if (index >= 0x800 && index <= 0x8ff)
            return fail(EINVAL, "MSR {:#x} is an x2APIC MSR, which KVM cannot send to user space", index);
        if (out.empty() || index - out.back().base >= kMaxMsrsPerRange) {
            if (out.size() == kMaxMsrFilterRanges)
                return fail(E2BIG, "the intercepted MSRs are too spread out for KVM's MSR filter ({} ranges of {} MSRs)",
                            kMaxMsrFilterRanges, kMaxMsrsPerRange);
            out.push_back({ index, 0, {} });
        }
        MsrWriteRange& r = out.back();
        uint32_t bit = index - r.base;
        r.nmsrs = bit + 1;
        r.bitmap.resize((r.nmsrs + 7) / 8, 0xff);
        // Bits past the last MSR are allowed already (resize fills with 0xff); only the MSR is denied.
        r.bitmap[bit / 8] &= static_cast<uint8_t>(~(1u << (bit % 8)));
    }
    return out;
}

uint32_t guest_debug_control(bool single_step, bool sw_breakpoints)
{
    if (!single_step && !sw_breakpoints)
        return 0;
    return KVM_GUESTDBG_ENABLE | (single_step ? KVM_GUESTDBG_SINGLESTEP : 0) | (sw_breakpoints ? KVM_GUESTDBG_USE_SW_BP : 0);
}

FinishAction finish_action(hv::IntrospectExit::What what, hv::InterceptFinish how)
{
    using What = hv::IntrospectExit::What;
    using Finish = hv::InterceptFinish;
    switch (what) {
    case What::MemAccess:
        return how == Finish::Execute ? FinishAction::WriteToRam
             : how == Finish::Skip    ? FinishAction::DropWrite
                                      : FinishAction::HoldWrite;
    case What::Breakpoint:
        // Execute is INT3 run ignoring the intercept: the guest's own #BP handler runs, as Xen's
        // reinjection of a software breakpoint does.
        return how == Finish::Execute ? FinishAction::InjectBp
             : how == Finish::Skip    ? FinishAction::SkipBp
                                      : FinishAction::Reenter;
    case What::MsrWrite:
        return how == Finish::Execute ? FinishAction::ApplyMsr
             : how == Finish::Skip    ? FinishAction::DropMsr
                                      : FinishAction::RetryMsr;
    case What::CrWrite:
    case What::Descriptor: break; // never reported on KVM
    }
    return FinishAction::Reenter;
}

} // namespace xkvm::kvm

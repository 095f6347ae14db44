// The pure parts of introspection on KVM (issue 10), kept apart from the ioctls so that they can be
// tested without /dev/kvm: which memslots a mapping becomes once some of its frames are
// write-limited, the MSR filter that sends intercepted WRMSRs to user space, the guest-debug flags,
// and what each monitor answer does to the exit KVM left pending.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "base/result.h"
#include "hv/introspection.h"

namespace xkvm::kvm {

// A set of guest frames as disjoint, non-adjacent ranges [first, end).
class FrameRanges {
public:
    // Adds (`in`) or removes [first, end); first < end.
    void assign(uint64_t first, uint64_t end, bool in);
    bool contains(uint64_t frame) const;
    // The parts of the set inside [first, end), in order.
    std::vector<std::pair<uint64_t, uint64_t>> within(uint64_t first, uint64_t end) const;
    bool empty() const { return m_ranges.empty(); }

private:
    std::map<uint64_t, uint64_t> m_ranges; // first -> end
};

// One memslot of a mapping: guest range, offset into the mapping's host memory, read-only or not.
struct SlotPiece {
    uint64_t gpa = 0;
    uint64_t size = 0;
    uint64_t offset = 0;
    bool readonly = false;
    bool operator==(const SlotPiece&) const = default;
};

// The memslots for a mapping [gpa, gpa + size) (page aligned): write-limited frames become
// read-only pieces, so that a guest write to them exits to user space as MMIO. A read-only
// mapping stays one read-only piece.
std::vector<SlotPiece> split_by_write_limits(uint64_t gpa, uint64_t size, bool readonly, const FrameRanges& limited);

// One range of KVM_X86_SET_MSR_FILTER for writes: bit i of `bitmap` allows WRMSR to base + i,
// a clear bit sends it to user space (KVM_MSR_EXIT_REASON_FILTER).
struct MsrWriteRange {
    uint32_t base = 0;
    uint32_t nmsrs = 0;
    std::vector<uint8_t> bitmap;
};
inline constexpr size_t kMaxMsrFilterRanges = 16;      // KVM_MSR_FILTER_MAX_RANGES
inline constexpr uint32_t kMaxMsrsPerRange = 0x600 * 8; // KVM_MSR_FILTER_MAX_BITMAP_SIZE bytes

// The ranges that deny writes to exactly `msrs` (any order, duplicates allowed). EINVAL for x2APIC
// MSRs, which KVM never filters; E2BIG when they need more ranges than KVM takes.
Result<std::vector<MsrWriteRange>> plan_msr_write_filter(std::span<const uint32_t> msrs);

// KVM_SET_GUEST_DEBUG's control word.
uint32_t guest_debug_control(bool single_step, bool sw_breakpoints);

// What the backend does with the exit KVM left pending once the monitor answered.
enum class FinishAction : uint8_t {
    Reenter,     // nothing: KVM_RUN runs the instruction again (INT3 exits again while intercepted)
    WriteToRam,  // the held MMIO write lands in guest RAM, then KVM_RUN completes the instruction
    DropWrite,   // the held write is discarded (the instruction already retired in KVM's emulator)
    HoldWrite,   // asked again while the page stays write-limited; lands once the limit is lifted
    InjectBp,    // #BP goes to the guest (RIP stays on INT3; the injection pushes the next RIP)
    SkipBp,      // RIP moves past INT3 and the guest never sees #BP
    ApplyMsr,    // KVM_SET_MSRS with the value, then the WRMSR completes
    DropMsr,     // the WRMSR completes without writing
    RetryMsr,    // the WRMSR completes without writing and RIP goes back onto it
};
FinishAction finish_action(hv::IntrospectExit::What what, hv::InterceptFinish how);

} // namespace xkvm::kvm

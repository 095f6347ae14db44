// Issue 10: Xen's rule for a domain's vCPUs producing into the vm_event ring (ring_blocking.h),
// driven against a real ring front so that "free" is what the VMM would see.
#include <gtest/gtest.h>

#include <vector>

#include "vmevent/ring.h"
#include "vmm/ring_blocking.h"

using namespace xkvm;
using namespace xkvm::vmm;
using namespace xkvm::vmevent;

namespace {

// A one-page ring (8 entries) and its monitor's end.
struct OnePageRing {
    std::vector<std::byte> page = std::vector<std::byte>(kPageSize);
    RingFront front { page };
    RingBack back { page };

    // The monitor answers `n` requests; the VMM takes the responses.
    void answer(unsigned n)
    {
        Event e {};
        for (unsigned k = 0; k < n; ++k) {
            ASSERT_TRUE(*back.take_request(e));
            ASSERT_TRUE(back.put_response(e));
        }
        for (unsigned k = 0; k < n; ++k)
            ASSERT_TRUE(*front.take_response(e));
    }
    uint32_t put()
    {
        EXPECT_TRUE(front.put_request(Event {}));
        return front.free_entries();
    }
};

} // namespace

TEST(RingBlocking, WithEightVcpusEveryAsynchronousEventBlocksItsVcpu)
{
    OnePageRing ring;
    RingBlocking rule(8);
    for (uint32_t v = 0; v < 8; ++v)
        EXPECT_TRUE(rule.after_put(v, ring.put(), false)) << "fewer than 8 entries are left after any put";
    EXPECT_EQ(rule.count(), 8u);
    EXPECT_EQ(ring.front.free_entries(), 0u);
    EXPECT_TRUE(rule.wake(0).empty()) << "nothing is freed, nobody goes";
}

TEST(RingBlocking, AVcpuPausedForItsOwnSynchronousEventIsExempt)
{
    OnePageRing ring;
    RingBlocking rule(8);
    for (uint32_t v = 0; v < 8; ++v)
        EXPECT_FALSE(rule.after_put(v, ring.put(), true));
    EXPECT_EQ(rule.count(), 0u);
}

TEST(RingBlocking, FewVcpusBlockOnlyWhenTheRingRunsLow)
{
    OnePageRing ring;
    RingBlocking rule(2);
    for (int k = 0; k < 6; ++k)
        EXPECT_FALSE(rule.after_put(k % 2, ring.put(), false)) << "put " << k;
    EXPECT_TRUE(rule.after_put(0, ring.put(), false)) << "1 entry left < 2 vCPUs";
    EXPECT_TRUE(rule.blocked(0));
    EXPECT_FALSE(rule.blocked(1));
    EXPECT_TRUE(rule.after_put(1, ring.put(), false));
    EXPECT_EQ(ring.front.free_entries(), 0u);
}

TEST(RingBlocking, ResponsesWakeAtMostOneVcpuPerFreeEntryRoundRobin)
{
    OnePageRing ring;
    RingBlocking rule(8);
    for (uint32_t v = 0; v < 8; ++v)
        ASSERT_TRUE(rule.after_put(v, ring.put(), false));
    ring.answer(3);
    // Xen's scan starts after vCPU 0 (the last woken, initially).
    EXPECT_EQ(rule.wake(ring.front.free_entries()), (std::vector<uint32_t> { 1, 2, 3 }));
    EXPECT_EQ(rule.count(), 5u);
    // The scan goes on after the last woken (vCPU 3), and wraps to vCPU 0.
    EXPECT_EQ(rule.wake(2), (std::vector<uint32_t> { 4, 5 }));
    EXPECT_EQ(rule.wake(8), (std::vector<uint32_t> { 6, 7, 0 }));
    EXPECT_EQ(rule.count(), 0u);
    EXPECT_TRUE(rule.wake(8).empty());
}

TEST(RingBlocking, ABlockedVcpuIsCountedOnce)
{
    RingBlocking rule(4);
    EXPECT_TRUE(rule.after_put(2, 0, false));
    EXPECT_FALSE(rule.after_put(2, 0, false)) << "already blocked";
    EXPECT_EQ(rule.count(), 1u);
    EXPECT_EQ(rule.wake(1), (std::vector<uint32_t> { 2 }));
    EXPECT_FALSE(rule.blocked(2));
}

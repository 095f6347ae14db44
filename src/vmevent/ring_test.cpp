// The ring and the slots between a front (the VMM) and a back (the monitor) on one shared area, and
// what the front does with a back that breaks the rules.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "vmevent/ring.h"
#include "vmevent/shared_area.h"
#include "vmevent/slots.h"

using namespace xkvm;
using namespace xkvm::vmevent;

namespace {

Event numbered(uint32_t n)
{
    Event e {};
    e.version = kInterfaceVersion;
    e.vcpu_id = n % 4;
    e.regs.x86.rdx = n;
    return e;
}

RingHeader& header_of(SharedArea& a)
{
    return *reinterpret_cast<RingHeader*>(a.bytes().data());
}

} // namespace

TEST(VmEventRing, RequestsAndResponsesInOrderAcrossWraps)
{
    auto area = SharedArea::create("ring-test", kPageSize);
    ASSERT_TRUE(area) << area.error().message;
    RingFront front(area->bytes());
    RingBack back(area->bytes());
    ASSERT_EQ(front.size(), 8u);
    uint32_t next_put = 0, next_rsp = 0;
    // 100 rounds of a few each: the 32-bit indices wrap the 8 entries many times.
    for (int round = 0; round < 100; ++round) {
        for (int i = 0; i < 5; ++i)
            ASSERT_TRUE(front.put_request(numbered(next_put++)));
        Event got {};
        for (int i = 0; i < 5; ++i) {
            ASSERT_TRUE(*back.take_request(got));
            got.flags = kFlagVcpuPaused;
            ASSERT_TRUE(back.put_response(got));
        }
        EXPECT_FALSE(*back.take_request(got));
        for (int i = 0; i < 5; ++i) {
            ASSERT_TRUE(*front.take_response(got));
            EXPECT_EQ(got.regs.x86.rdx, next_rsp++);
        }
        EXPECT_FALSE(*front.take_response(got));
    }
}

TEST(VmEventRing, FullRingRefusesUntilAResponseFreesAnEntry)
{
    auto area = SharedArea::create("ring-test", kPageSize);
    ASSERT_TRUE(area);
    RingFront front(area->bytes());
    RingBack back(area->bytes());
    for (uint32_t i = 0; i < 8; ++i)
        ASSERT_TRUE(front.put_request(numbered(i)));
    EXPECT_EQ(front.free_entries(), 0u);
    EXPECT_FALSE(front.put_request(numbered(8)));
    Event got {};
    ASSERT_TRUE(*back.take_request(got)); // taking alone frees nothing: the entry holds the response
    EXPECT_FALSE(front.put_request(numbered(8)));
    ASSERT_TRUE(back.put_response(got));
    ASSERT_TRUE(*front.take_response(got));
    EXPECT_TRUE(front.put_request(numbered(8)));
}

TEST(VmEventRing, ImpossibleResponseProducerIsRefused)
{
    auto area = SharedArea::create("ring-test", kPageSize);
    ASSERT_TRUE(area);
    RingFront front(area->bytes());
    ASSERT_TRUE(front.put_request(numbered(0)));
    Event got {};
    for (uint32_t bad : { 2u, 9u, 0x80000000u, 0xffffffffu }) {
        header_of(*area).rsp_prod = bad;
        auto r = front.take_response(got);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, EPROTO);
    }
    header_of(*area).rsp_prod = 1; // a sane value still works afterwards
    EXPECT_TRUE(*front.take_response(got));
}

TEST(VmEventRing, BackRefusesProducerBeyondTheRing)
{
    auto area = SharedArea::create("ring-test", kPageSize);
    ASSERT_TRUE(area);
    RingBack back(area->bytes());
    header_of(*area).req_prod = 9;
    Event got {};
    EXPECT_FALSE(back.take_request(got));
    EXPECT_FALSE(back.put_response(got)); // nothing taken, nothing to answer
}

TEST(VmEventSlots, SubmitFinishIdle)
{
    auto area = SharedArea::create("slot-test", slot_area_bytes(4));
    ASSERT_TRUE(area);
    SlotsFront front(area->bytes(), 4);
    SlotsBack back(area->bytes(), 4);
    Event got {};
    EXPECT_FALSE(back.take_request(2, got));
    ASSERT_TRUE(front.submit(2, numbered(42)));
    EXPECT_FALSE(front.submit(2, numbered(43))); // one event in flight per vCPU
    EXPECT_FALSE(front.take_response(2, got));   // not finished yet
    ASSERT_TRUE(back.take_request(2, got));
    EXPECT_EQ(got.regs.x86.rdx, 42u);
    got.regs.x86.rdx = 99;
    back.finish(2, got);
    ASSERT_TRUE(front.take_response(2, got));
    EXPECT_EQ(got.regs.x86.rdx, 99u);
    EXPECT_FALSE(front.take_response(2, got)); // consumed once
    EXPECT_TRUE(front.submit(2, numbered(44)));
    EXPECT_FALSE(front.submit(4, numbered(0))); // no such vCPU
}

TEST(VmEventSlots, FinishOfAnIdleSlotIsIgnored)
{
    auto area = SharedArea::create("slot-test", slot_area_bytes(2));
    ASSERT_TRUE(area);
    SlotsFront front(area->bytes(), 2);
    SlotsBack back(area->bytes(), 2);
    back.finish(1, numbered(7)); // the monitor answers what nobody asked
    Event got {};
    EXPECT_FALSE(front.take_response(1, got));
}

TEST(VmEventSharedArea, SealedAgainstResizeAndCheckedWhenMapped)
{
    auto area = SharedArea::create("seal-test", kPageSize);
    ASSERT_TRUE(area);
    EXPECT_LT(::ftruncate(area->fd(), 0), 0) << "a monitor could shrink the ring under the VMM";
    auto copy = area->dup_fd();
    ASSERT_TRUE(copy);
    auto mapped = SharedArea::map(copy.release_value(), kPageSize);
    ASSERT_TRUE(mapped) << mapped.error().message;
    mapped->bytes()[10] = std::byte { 0x5a };
    EXPECT_EQ(area->bytes()[10], std::byte { 0x5a });
    auto too_big = SharedArea::map(area->dup_fd().release_value(), 2 * kPageSize);
    EXPECT_FALSE(too_big);
    UniqueFd plain(::memfd_create("unsealed", MFD_CLOEXEC));
    ASSERT_EQ(::ftruncate(plain.get(), kPageSize), 0);
    EXPECT_FALSE(SharedArea::map(std::move(plain), kPageSize));
}

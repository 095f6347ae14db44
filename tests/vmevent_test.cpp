// Issue 10 (label vmevent): guest requests from the vmevent64 guest to a monitor attached to the
// VMM, through the ring and through per-vCPU slots; nothing lost when the ring is tiny and full; the
// guest running on when the monitor goes mid-storm. Page limits and intercepted instructions:
// vmevent_introspect_test.cpp.
// XKVM-OWN: the monitor endpoint (its socket, ring and per-vCPU slots) is xkvm's own; the
// requests follow Xen's vm_event layout, which unit tests check.
#include <gtest/gtest.h>

#include <map>

#include "guest_test.h"
#include "vmevent_support.h"

using namespace xkvm;
using namespace xkvm::test;
using namespace xkvm::vmevent;
using namespace std::chrono_literals;

namespace {

using VmEvent = GuestTest;

GuestOptions request_guest(const std::string& name, unsigned vcpus, unsigned count)
{
    return vmevent_guest("request", name, vcpus, count);
}

// Every vCPU's guest requests arrived exactly once and in order, with their payload and the
// registers as they were at the call.
void expect_all_requests(const std::vector<Pending>& events, unsigned vcpus, unsigned count)
{
    std::map<uint32_t, uint64_t> next;
    for (const auto& p : events) {
        const Event& e = p.request;
        ASSERT_EQ(e.version, kInterfaceVersion);
        ASSERT_EQ(e.reason, uint32_t { kReasonGuestRequest });
        uint64_t payload = e.regs.x86.rdx;
        ASSERT_EQ(payload & 0xff00000000000000ull, kRequestMagic) << std::hex << payload;
        uint32_t cpu = static_cast<uint32_t>(payload >> 32) & 0xff;
        EXPECT_EQ(e.vcpu_id, cpu) << "the request names the vCPU that made it";
        EXPECT_EQ(e.regs.x86.r10, ~payload) << "the second payload register";
        EXPECT_EQ(e.regs.x86.rax, 34u) << "RAX as the guest made the call: __HYPERVISOR_hvm_op";
        ASSERT_EQ(payload & 0xffffffffu, next[cpu]) << "vcpu " << cpu << ": lost, repeated or reordered";
        ++next[cpu];
    }
    EXPECT_EQ(next.size(), vcpus);
    for (auto [cpu, n] : next)
        EXPECT_EQ(n, count) << "vcpu " << cpu;
    EXPECT_EQ(events.size(), size_t { vcpus } * count);
}

} // namespace

TEST_F(VmEvent, GuestRequestCarriesItsPayloadThroughTheRing)
{
    MonitoredGuest g(request_guest("ve-request", 1, 20));
    auto mon = g.attach({ .ring_pages = 1, .slots = false });
    ASSERT_TRUE(mon) << mon.error().message;
    EXPECT_FALSE((*mon)->has_slots());
    EXPECT_EQ((*mon)->ring_entries(), 8u);
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
    Served s = serve(**mon, 90s);
    EXPECT_TRUE(s.vmm_gone) << s.error;
    expect_all_requests(s.events, 1, 20);
    for (const auto& p : s.events) {
        EXPECT_EQ(p.slot, -1);
        EXPECT_TRUE(p.request.flags & kFlagVcpuPaused) << "guest requests are synchronous by default";
    }
    expect_clean_end(g.finish());
}

TEST_F(VmEvent, EachVcpuReportsThroughItsOwnSlot)
{
    MonitoredGuest g(request_guest("ve-slots", 4, 50));
    auto mon = g.attach({ .ring_pages = 1, .slots = true });
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->has_slots());
    EXPECT_EQ((*mon)->vcpus(), 4u);
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
    Served s = serve(**mon, 90s);
    EXPECT_TRUE(s.vmm_gone) << s.error;
    expect_all_requests(s.events, 4, 50);
    for (const auto& p : s.events)
        EXPECT_EQ(p.slot, static_cast<int>(p.request.vcpu_id));
    expect_clean_end(g.finish());
}

// A one-page ring (8 entries) and asynchronous requests from 4 vCPUs: the monitor answers only
// once it holds a full ring, so every vCPU finds it full again and again and must wait.
TEST_F(VmEvent, TinyRingStormFromAllVcpusLosesNothing)
{
    constexpr unsigned kVcpus = 4, kCount = 200;
    MonitoredGuest g(request_guest("ve-storm", kVcpus, kCount));
    auto mon = g.attach({ .ring_pages = 1, .slots = false });
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true, .guest_request_sync = false }));
    std::vector<Pending> seen, held;
    size_t full_rings = 0;
    bool gone = false;
    while (!gone) {
        std::vector<Pending> batch;
        auto r = (*mon)->wait(batch, held.empty() ? 30000ms : 300ms);
        if (!r) {
            gone = r.error().code == ECONNRESET;
            ASSERT_TRUE(gone) << r.error().message;
        }
        for (auto& p : batch) {
            EXPECT_FALSE(p.request.flags & kFlagVcpuPaused);
            seen.push_back(p);
            held.push_back(p);
        }
        // Answer a full ring, or what is left when nothing more comes (the end of the storm).
        if (held.size() == (*mon)->ring_entries() || (batch.empty() && !held.empty())) {
            full_rings += held.size() == (*mon)->ring_entries();
            for (auto& p : held)
                ASSERT_TRUE((*mon)->respond(p, Client::resume(p.request)));
            held.clear();
        }
        ASSERT_LE(seen.size(), size_t { kVcpus } * kCount);
        if (batch.empty() && held.empty() && seen.size() == size_t { kVcpus } * kCount)
            break;
    }
    expect_all_requests(seen, kVcpus, kCount);
    EXPECT_GT(full_rings, size_t { kCount / 8 }) << "the ring was full again and again";
    expect_clean_end(g.finish());
}

TEST_F(VmEvent, SecondMonitorIsRefusedWithEbusy)
{
    MonitoredGuest g(request_guest("ve-busy", 1, 5));
    auto first = g.attach({});
    ASSERT_TRUE(first) << first.error().message;
    auto second = Client::connect(g.socket(), {});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, EBUSY) << second.error().message;
    ASSERT_TRUE((*first)->set_events({ .guest_request = true }));
    Served s = serve(**first, 90s);
    EXPECT_EQ(s.events.size(), 5u);
    expect_clean_end(g.finish());
}

TEST_F(VmEvent, WithoutSlotsTheClientFallsBackToTheRing)
{
    MonitoredGuest g(request_guest("ve-noslots", 2, 30), { "--no-monitor-slots" });
    auto mon = g.attach({ .ring_pages = 2, .slots = true });
    ASSERT_TRUE(mon) << mon.error().message;
    EXPECT_FALSE((*mon)->has_slots()) << "the domain answered 'not supported'";
    EXPECT_EQ((*mon)->ring_entries(), 16u);
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
    Served s = serve(**mon, 90s);
    expect_all_requests(s.events, 2, 30);
    expect_clean_end(g.finish());
}

// The monitor vanishes (its socket, ring, slots and notifications all closed, as when its process
// is killed) with requests outstanding on every vCPU: they resume, and the rest of the storm runs
// with no monitor at all.
TEST_F(VmEvent, KillingTheMonitorMidStormLetsTheGuestRunOn)
{
    MonitoredGuest g(request_guest("ve-kill", 4, 300));
    auto mon = g.attach({ .slots = true });
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
    Served s = serve(**mon, 60s, {}, 100);
    ASSERT_EQ(s.events.size(), 100u) << s.error;
    mon->reset();
    expect_clean_end(g.finish());
}

TEST_F(VmEvent, GuestRequestsWithoutAMonitorAreDropped)
{
    expect_clean_end(run_guest(vmm_path(), request_guest("ve-none", 2, 100)));
}


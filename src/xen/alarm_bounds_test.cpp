// Issue 11: what a guest can make the timer layer hold. A poll's alarm goes with its wait, the
// number of alarms stays bounded however many rounds a guest polls, and far-future deadlines
// (timeout ~0) neither fire early nor multiply.
#include "xen/abi/event_channel.h"
#include "xen/abi/sched.h"
#include "xen/abi/vcpu.h"
#include "xen/test_support.h"

using namespace xkvm;
using namespace xkvm::xen;
using namespace xkvm::xen::testing;

namespace {

struct AlarmBounds : XenFixture {
    static constexpr uint64_t kPorts = kScratch + 0x100;

    shared_info* shinfo() { return reinterpret_cast<shared_info*>(platform.mem->host_base() + platform.shared_info_offset); }
    bool pending(evtchn_port_t p) { return shinfo()->evtchn_pending[p / 64] & (1ull << (p % 64)); }
    void clear(evtchn_port_t p) { shinfo()->evtchn_pending[p / 64] &= ~(1ull << (p % 64)); }
    evtchn_port_t alloc_port()
    {
        put(evtchn_alloc_unbound { DOMID_SELF, DOMID_SELF, 0 }, kScratch + 0x800);
        EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_alloc_unbound, kScratch + 0x800), 0);
        return get<evtchn_alloc_unbound>(kScratch + 0x800).port;
    }
    evtchn_port_t bind_timer()
    {
        put(evtchn_bind_virq { VIRQ_TIMER, 0, 0 }, kScratch + 0x800);
        EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch + 0x800), 0);
        return get<evtchn_bind_virq>(kScratch + 0x800).port;
    }
    // SCHEDOP_poll on `port` from vCPU 0.
    int64_t poll(evtchn_port_t port, uint64_t timeout)
    {
        put(port, kPorts);
        put(sched_poll { reinterpret_cast<evtchn_port_t*>(kPorts), 1, timeout });
        return call(XEN_HYPERCALL_sched_op, SCHEDOP_poll, kScratch);
    }
};

} // namespace

// Xen 4.19: xen/common/sched/core.c, do_poll (the poll timer is stopped when an event ends the
// poll).
TEST_F(AlarmBounds, AnEventThatEndsAPollCancelsItsAlarm)
{
    evtchn_port_t port = alloc_port();
    ASSERT_EQ(poll(port, platform.now_ns + 1'000'000'000), 0);
    ASSERT_EQ(last->effect, HypercallEffect::Block);
    EXPECT_EQ(platform.alarms.size(), 1u);
    domain->evtchn().raise(port);
    EXPECT_TRUE(domain->wake_condition(0));
    domain->end_wait(0);
    EXPECT_EQ(platform.alarms.size(), 0u);
}

// Xen 4.19: xen/common/sched/core.c, do_poll (one poll_timer per vCPU).
TEST_F(AlarmBounds, AlarmsStayBoundedAcrossAHundredThousandPollRounds)
{
    evtchn_port_t port = alloc_port();
    size_t most = 0;
    for (int round = 0; round < 100'000; ++round) {
        clear(port);
        ASSERT_EQ(poll(port, platform.now_ns + 10'000'000'000ull), 0);
        ASSERT_EQ(last->effect, HypercallEffect::Block);
        most = std::max(most, platform.alarms.size());
        domain->evtchn().raise(port);
        ASSERT_TRUE(domain->wake_condition(0));
        domain->end_wait(0);
        platform.advance(1000);
    }
    EXPECT_EQ(most, 1u);
    EXPECT_EQ(platform.alarms.size(), 0u);
}

// Xen 4.19: xen/common/sched/core.c, do_poll (a timeout is absolute system time).
TEST_F(AlarmBounds, PollingWithTimeoutAllOnesNeverRunsItsAlarm)
{
    evtchn_port_t port = alloc_port();
    for (int round = 0; round < 1000; ++round) {
        ASSERT_EQ(poll(port, ~uint64_t(0)), 0);
        ASSERT_EQ(last->effect, HypercallEffect::Block);
        ASSERT_EQ(platform.alarms.size(), 1u);
        platform.kicks.clear();
        // Centuries of guest time pass: the deadline is still ahead, nothing fires.
        platform.advance(uint64_t(1) << 62);
        EXPECT_TRUE(platform.kicks.empty());
        EXPECT_FALSE(domain->wake_condition(0));
        domain->end_wait(0); // the guest was woken some other way
        platform.now_ns = 1'000'000;
    }
    EXPECT_EQ(platform.alarms.size(), 0u);
}

// Xen 4.19: xen/common/sched/core.c, do_poll (set_timer re-arms the vCPU's one poll_timer).
TEST_F(AlarmBounds, AWaitThatBeginsAgainReplacesItsAlarm)
{
    // A vCPU whose wait was not ended (it never ran in between) polls again: one alarm, not two.
    evtchn_port_t port = alloc_port();
    ASSERT_EQ(poll(port, platform.now_ns + 1000), 0);
    ASSERT_EQ(poll(port, platform.now_ns + 2000), 0);
    EXPECT_EQ(platform.alarms.size(), 1u);
    platform.kicks.clear();
    platform.advance(2000);
    EXPECT_EQ(platform.kicks, std::vector<uint32_t> { 0 });
}

// Xen 4.19: xen/common/sched/core.c, do_poll (a poll may return early; the guest checks its ports
// again).
TEST_F(AlarmBounds, APollTheAlarmCapRefusesReturnsInsteadOfWaitingForever)
{
    evtchn_port_t port = alloc_port();
    platform.max_alarms = 0;
    EXPECT_EQ(poll(port, platform.now_ns + 1000), 0);
    EXPECT_EQ(last->effect, HypercallEffect::None);
    // Without a deadline no alarm is needed: the poll waits.
    EXPECT_EQ(poll(port, 0), 0);
    EXPECT_EQ(last->effect, HypercallEffect::Block);
}

// Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_set_singleshot_timer: no clamp of far
// deadlines).
TEST_F(AlarmBounds, AFarFutureSingleshotStaysArmedAndSilent)
{
    evtchn_port_t port = bind_timer();
    put(vcpu_set_singleshot_timer { ~uint64_t(0) - 1, 0 });
    ASSERT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_singleshot_timer, 0, kScratch), 0);
    EXPECT_EQ(platform.alarms.size(), 1u);
    platform.advance(uint64_t(1) << 62);
    EXPECT_FALSE(pending(port));
    EXPECT_EQ(platform.alarms.size(), 1u);
    // Re-arming many times keeps one alarm.
    for (int i = 0; i < 10'000; ++i) {
        put(vcpu_set_singleshot_timer { ~uint64_t(0) - uint64_t(i), 0 });
        ASSERT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_singleshot_timer, 0, kScratch), 0);
    }
    EXPECT_EQ(platform.alarms.size(), 1u);
    // And a near deadline still fires on time.
    put(vcpu_set_singleshot_timer { platform.now_ns + 5, 0 });
    ASSERT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_singleshot_timer, 0, kScratch), 0);
    platform.advance(5);
    EXPECT_TRUE(pending(port));
    EXPECT_EQ(platform.alarms.size(), 0u);
}

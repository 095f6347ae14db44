// Interdomain channels through a broker (the far side in another VMM), and SCHEDOP_poll wake-ups.
#include <array>

#include "xen/abi/event_channel.h"
#include "xen/abi/sched.h"
#include "xen/test_support.h"

using namespace xkvm;
using namespace xkvm::xen;
using namespace xkvm::xen::testing;

namespace {

struct RecordingEndpoint : Endpoint {
    int notified = 0;
    int disconnected = 0;
    void notify() override { ++notified; }
    void disconnect() override { ++disconnected; }
};

// Plays the other domain: answers bind() as it is told to.
struct FakeBroker : InterdomainBroker {
    Result<std::shared_ptr<Endpoint>> bind(domid_t remote_dom, evtchn_port_t remote_port,
                                           evtchn_port_t local_port) override
    {
        asked.push_back({ remote_dom, remote_port, local_port });
        if (refuse)
            return make_unexpected(Error { refuse, "refused" });
        return std::shared_ptr<Endpoint>(endpoint);
    }
    struct Ask {
        domid_t dom;
        evtchn_port_t remote_port, local_port;
    };
    bool domain_exists(domid_t dom) override { return dom == 9 || dom == 5; }
    std::vector<Ask> asked;
    int refuse = 0;
    std::shared_ptr<RecordingEndpoint> endpoint = std::make_shared<RecordingEndpoint>();
};

struct Interdomain : XenFixture {
    FakeBroker broker;
    void SetUp() override
    {
        XenFixture::SetUp();
        domain->evtchn().set_broker(&broker);
    }
    shared_info* shinfo() { return reinterpret_cast<shared_info*>(platform.mem->host_base() + platform.shared_info_offset); }
    bool pending(uint32_t p) { return shinfo()->evtchn_pending[p / 64] & (1ull << (p % 64)); }
    void clear(uint32_t p) { shinfo()->evtchn_pending[p / 64] &= ~(1ull << (p % 64)); }
    void mask(uint32_t p) { shinfo()->evtchn_mask[p / 64] |= 1ull << (p % 64); }
    int64_t op(unsigned cmd) { return call(XEN_HYPERCALL_event_channel_op, cmd, kScratch); }
    evtchn_status status(evtchn_port_t p)
    {
        put(evtchn_status { DOMID_SELF, p, 0, 0, {} });
        EXPECT_EQ(op(EVTCHNOP_status), 0);
        return get<evtchn_status>();
    }
    evtchn_port_t alloc_unbound(domid_t remote)
    {
        put(evtchn_alloc_unbound { DOMID_SELF, remote, 0 });
        EXPECT_EQ(op(EVTCHNOP_alloc_unbound), 0);
        return get<evtchn_alloc_unbound>().port;
    }
};

} // namespace

// Xen 4.19: xen/common/event_channel.c, evtchn_bind_interdomain / evtchn_send (ECS_INTERDOMAIN: the
// remote port is set pending).
TEST_F(Interdomain, BindAsksTheBrokerAndSendsGoThroughItsEndpoint)
{
    put(evtchn_bind_interdomain { 9, 33, 0 });
    ASSERT_EQ(op(EVTCHNOP_bind_interdomain), 0);
    evtchn_port_t p = get<evtchn_bind_interdomain>().local_port;
    ASSERT_EQ(broker.asked.size(), 1u);
    EXPECT_EQ(broker.asked[0].dom, 9);
    EXPECT_EQ(broker.asked[0].remote_port, 33u);
    EXPECT_EQ(broker.asked[0].local_port, p);
    EXPECT_TRUE(pending(p)) << "a freshly bound port starts pending";
    auto st = status(p);
    EXPECT_EQ(st.status, unsigned(EVTCHNSTAT_interdomain));
    EXPECT_EQ(st.u.interdomain.dom, 9);
    EXPECT_EQ(st.u.interdomain.port, 33u);

    put(evtchn_send { p });
    EXPECT_EQ(op(EVTCHNOP_send), 0);
    EXPECT_EQ(broker.endpoint->notified, 1);
    put(evtchn_close { p });
    EXPECT_EQ(op(EVTCHNOP_close), 0);
    EXPECT_EQ(broker.endpoint->disconnected, 1);
}

// Xen 4.19: xen/common/event_channel.c, evtchn_bind_interdomain (an error frees the port taken).
TEST_F(Interdomain, RefusalIsTheGuestsErrorAndFreesThePort)
{
    broker.refuse = XEN_EINVAL;
    put(evtchn_bind_interdomain { 9, 33, 0 });
    EXPECT_EQ(op(EVTCHNOP_bind_interdomain), -XEN_EINVAL);
    broker.refuse = XEN_ESRCH;
    EXPECT_EQ(op(EVTCHNOP_bind_interdomain), -XEN_ESRCH);
    EXPECT_EQ(domain->evtchn().open_ports(), 0u);
    // Without a broker no other domain exists.
    domain->evtchn().set_broker(nullptr);
    EXPECT_EQ(op(EVTCHNOP_bind_interdomain), -XEN_ESRCH);
}

// Xen 4.19: xen/common/event_channel.c, evtchn_bind_interdomain (ECS_UNBOUND offered to the binder
// only: -EINVAL).
TEST_F(Interdomain, RemoteSideConnectsOnlyAnUnboundPortNamingIt)
{
    evtchn_port_t p = alloc_unbound(9);
    auto ep = std::make_shared<RecordingEndpoint>();
    EventChannels& ec = domain->evtchn();
    EXPECT_EQ(ec.connect_remote(p, 8, 40, ep).error().code, XEN_EINVAL); // waits for 9, not 8
    EXPECT_EQ(ec.connect_remote(p + 1, 9, 40, ep).error().code, XEN_EINVAL); // not open
    ASSERT_TRUE(ec.connect_remote(p, 9, 40, ep));
    EXPECT_FALSE(pending(p)) << "only the binding side starts pending";
    EXPECT_EQ(ec.connect_remote(p, 9, 41, ep).error().code, XEN_EINVAL); // bound already
    EXPECT_EQ(status(p).u.interdomain.port, 40u);

    // Sends from the far side land only while the binding is exactly theirs.
    ec.raise_from_remote(p, 9, 41);
    EXPECT_FALSE(pending(p));
    ec.raise_from_remote(p, 9, 40);
    EXPECT_TRUE(pending(p));
    clear(p);

    // The far side closes: back to waiting for domain 9, and stale sends are dropped.
    ec.remote_closed(p, 9, 40);
    auto st = status(p);
    EXPECT_EQ(st.status, unsigned(EVTCHNSTAT_unbound));
    EXPECT_EQ(st.u.unbound.dom, 9);
    ec.raise_from_remote(p, 9, 40);
    EXPECT_FALSE(pending(p));
    EXPECT_EQ(ep->disconnected, 0) << "their close is not ours to announce";
}

// Xen 4.19: xen/common/event_channel.c, evtchn_close (the peer's end returns to ECS_UNBOUND).
TEST_F(Interdomain, ADomainThatGoesAwayUnbindsEveryPortToIt)
{
    evtchn_port_t a = alloc_unbound(9), b = alloc_unbound(9), c = alloc_unbound(5);
    EventChannels& ec = domain->evtchn();
    auto ep = std::make_shared<RecordingEndpoint>();
    ASSERT_TRUE(ec.connect_remote(a, 9, 1, ep));
    ASSERT_TRUE(ec.connect_remote(b, 9, 2, ep));
    ASSERT_TRUE(ec.connect_remote(c, 5, 1, ep));
    ec.remote_domain_gone(9);
    EXPECT_EQ(status(a).status, unsigned(EVTCHNSTAT_unbound));
    EXPECT_EQ(status(b).status, unsigned(EVTCHNSTAT_unbound));
    EXPECT_EQ(status(c).status, unsigned(EVTCHNSTAT_interdomain));
}

// Xen 4.19: xen/common/event_channel.c, evtchn_bind_virq (-EEXIST; virq_is_global before
// domain_vcpu) / evtchn_bind_vcpu.
TEST_F(Interdomain, GlobalVirqMovesButCannotBeBoundTwice)
{
    put(evtchn_bind_virq { VIRQ_CONSOLE, 0, 0 });
    ASSERT_EQ(op(EVTCHNOP_bind_virq), 0);
    evtchn_port_t p = get<evtchn_bind_virq>().port;
    put(evtchn_bind_vcpu { p, 3 });
    ASSERT_EQ(op(EVTCHNOP_bind_vcpu), 0);
    put(evtchn_bind_virq { VIRQ_CONSOLE, 0, 0 });
    EXPECT_EQ(op(EVTCHNOP_bind_virq), -XEN_EEXIST);
    // Delivered where it was moved.
    domain->evtchn().raise_virq(VIRQ_CONSOLE);
    EXPECT_TRUE(pending(p));
    EXPECT_EQ(shinfo()->vcpu_info[3].evtchn_upcall_pending, 1);
    EXPECT_EQ(shinfo()->vcpu_info[0].evtchn_upcall_pending, 0);
    // A global VIRQ on another vCPU is refused before the vCPU is looked up (Xen's order).
    put(evtchn_bind_virq { VIRQ_DOM_EXC, 77, 0 });
    EXPECT_EQ(op(EVTCHNOP_bind_virq), -XEN_EINVAL);
    put(evtchn_close { p });
    EXPECT_EQ(op(EVTCHNOP_close), 0);
    put(evtchn_bind_virq { VIRQ_CONSOLE, 0, 0 });
    EXPECT_EQ(op(EVTCHNOP_bind_virq), 0);
}

// Xen 4.19: xen/common/event_channel.c, evtchn_port_set_pending (pollers woken whether masked or
// not); xen/common/sched/core.c, do_poll.
TEST_F(Interdomain, PollWakesOnAMaskedPortAndOnlyPollersOfIt)
{
    evtchn_port_t a = alloc_unbound(DOMID_SELF), b = alloc_unbound(DOMID_SELF);
    mask(a);
    EXPECT_TRUE(domain->begin_wait(1, { a }, 0, true));
    EXPECT_TRUE(domain->begin_wait(2, { b }, 0, true));
    platform.kicks.clear();
    domain->evtchn().raise(a);
    EXPECT_EQ(platform.kicks, std::vector<uint32_t>({ 1 })) << "a masked port wakes its poller";
    EXPECT_TRUE(domain->wake_condition(1));
    EXPECT_FALSE(domain->wake_condition(2));
    // A poll of no ports waits for any port.
    EXPECT_TRUE(domain->begin_wait(3, {}, 0, true));
    platform.kicks.clear();
    domain->evtchn().raise(b);
    // 2 and 3 as its pollers; vCPU 0 gets the upcall (b is unmasked) but is not blocked.
    EXPECT_EQ(platform.kicks, std::vector<uint32_t>({ 2, 3 }));
    EXPECT_TRUE(domain->wake_condition(3));
    EXPECT_TRUE(domain->wake_condition(2));
    // A deadline ends it too.
    EXPECT_TRUE(domain->begin_wait(1, { 1000 }, platform.now_ns + 10, true));
    EXPECT_FALSE(domain->wake_condition(1));
    platform.now_ns += 10;
    EXPECT_TRUE(domain->wake_condition(1));
}

// Xen 4.19: xen/common/sched/core.c, do_poll (port_is_valid in order: -EINVAL; a pending port
// returns).
TEST_F(Interdomain, PollChecksPortsInOrderAndRefusesUnboundOnes)
{
    evtchn_port_t a = alloc_unbound(DOMID_SELF), b = alloc_unbound(DOMID_SELF);
    domain->evtchn().raise(a);
    evtchn_port_t ports[] = { b, a, 0, 5000 };
    put(ports, kScratch + 0x100);
    put(sched_poll { reinterpret_cast<evtchn_port_t*>(kScratch + 0x100), 4, 0 });
    // a is pending before the bad ports are reached: Xen returns at once.
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_poll, kScratch), 0);
    EXPECT_EQ(last->effect, HypercallEffect::None);
    clear(a);
    // Port 0 (never bound), a closed port and one past the limit are EINVAL.
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_poll, kScratch), -XEN_EINVAL);
    put(evtchn_close { b });
    EXPECT_EQ(op(EVTCHNOP_close), 0);
    put(sched_poll { reinterpret_cast<evtchn_port_t*>(kScratch + 0x100), 1, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_poll, kScratch), -XEN_EINVAL);
    put(sched_poll { reinterpret_cast<evtchn_port_t*>(kScratch + 0x104), 1, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_poll, kScratch), 0);
    EXPECT_EQ(last->effect, HypercallEffect::Block);
}

// do_poll (common/sched/core.c) takes at most 128 ports: 129 is -EINVAL before any port is read,
// 128 (all the same pending port) is fine.
TEST_F(Interdomain, PollTakesAtMost128Ports)
{
    evtchn_port_t a = alloc_unbound(DOMID_SELF);
    domain->evtchn().raise(a);
    std::array<evtchn_port_t, 1024> ports;
    ports.fill(a);
    put(ports, kScratch + 0x100);
    put(sched_poll { reinterpret_cast<evtchn_port_t*>(kScratch + 0x100), 129, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_poll, kScratch), -XEN_EINVAL);
    put(sched_poll { reinterpret_cast<evtchn_port_t*>(kScratch + 0x100), 128, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_poll, kScratch), 0);
    put(sched_poll { reinterpret_cast<evtchn_port_t*>(kScratch + 0x100), 1024, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_poll, kScratch), -XEN_EINVAL);
}

// Xen 4.19: xen/common/event_channel.c, evtchn_alloc_unbound / evtchn_status / evtchn_reset
// (rcu_lock_domain_by_any_id, then XSM).
TEST_F(Interdomain, OtherDomainsAreLookedUpBeforeTheyAreRefused)
{
    // Xen: no such domain is ESRCH; another domain's channels need privilege (EPERM).
    put(evtchn_alloc_unbound { 9, DOMID_SELF, 0 });
    EXPECT_EQ(op(EVTCHNOP_alloc_unbound), -XEN_EPERM);
    put(evtchn_alloc_unbound { 0x7000, DOMID_SELF, 0 });
    EXPECT_EQ(op(EVTCHNOP_alloc_unbound), -XEN_ESRCH);
    put(evtchn_status { 0x7000, 1, 0, 0, {} });
    EXPECT_EQ(op(EVTCHNOP_status), -XEN_ESRCH);
    put(evtchn_status { 0, 1, 0, 0, {} });
    EXPECT_EQ(op(EVTCHNOP_status), -XEN_EPERM); // domain 0 always exists
    put(evtchn_reset { 0x7000 });
    EXPECT_EQ(op(EVTCHNOP_reset), -XEN_ESRCH);
    put(evtchn_reset { 5 });
    EXPECT_EQ(op(EVTCHNOP_reset), -XEN_EPERM);
    // Domain 0 exists but offers no port: EINVAL, and the broker is not asked.
    put(evtchn_bind_interdomain { 0, 1, 0 });
    EXPECT_EQ(op(EVTCHNOP_bind_interdomain), -XEN_EINVAL);
    EXPECT_TRUE(broker.asked.empty());
}

// Xen 4.19: xen/common/event_channel.c, evtchn_status / evtchn_unmask (port_is_valid only);
// xen/common/event_2l.c, evtchn_2l_unmask.
TEST_F(Interdomain, PortZeroAndClosedPortsAreValidButInert)
{
    // status of port 0 is "closed"; unmask of port 0 or of a closed port succeeds and changes nothing.
    auto st = status(0);
    EXPECT_EQ(st.status, unsigned(EVTCHNSTAT_closed));
    mask(0);
    mask(7);
    put(evtchn_unmask { 0 });
    EXPECT_EQ(op(EVTCHNOP_unmask), 0);
    put(evtchn_unmask { 7 });
    EXPECT_EQ(op(EVTCHNOP_unmask), 0);
    EXPECT_TRUE(shinfo()->evtchn_mask[0] & 1ull);
    EXPECT_TRUE(shinfo()->evtchn_mask[0] & (1ull << 7));
    put(evtchn_unmask { 1023 + 1 });
    EXPECT_EQ(op(EVTCHNOP_unmask), -XEN_EINVAL);
}

// The 2-level event channel rules, through EVTCHNOP hypercalls.
#include "xen/abi/event_channel.h"
#include "xen/test_support.h"

using namespace xkvm;
using namespace xkvm::xen;
using namespace xkvm::xen::testing;

namespace {

struct EventChannelTest : XenFixture {
    shared_info* shinfo() { return reinterpret_cast<shared_info*>(platform.mem->host_base() + platform.shared_info_offset); }
    bool pending(uint32_t p) { return shinfo()->evtchn_pending[p / 64] & (1ull << (p % 64)); }
    void mask(uint32_t p) { shinfo()->evtchn_mask[p / 64] |= 1ull << (p % 64); }

    evtchn_port_t bind_ipi(uint32_t vcpu)
    {
        put(evtchn_bind_ipi { vcpu, 0 });
        EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_ipi, kScratch), 0);
        return get<evtchn_bind_ipi>().port;
    }
    int64_t send(evtchn_port_t p)
    {
        put(evtchn_send { p });
        return call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_send, kScratch);
    }
};

} // namespace

// Xen 4.19: xen/common/event_2l.c, evtchn_2l_set_pending (pending bit, selector, upcall_pending
// once; vcpu_mark_events_pending).
TEST_F(EventChannelTest, IpiSendSetsPendingSelectorAndUpcallOnce)
{
    evtchn_port_t p = bind_ipi(1);
    EXPECT_EQ(p, 1u);
    domain->vcpu(1).blocked = true; // in SCHEDOP_block: the upcall must end its wait
    platform.kicks.clear();
    EXPECT_EQ(send(p), 0);
    EXPECT_TRUE(pending(p));
    EXPECT_EQ(shinfo()->vcpu_info[1].evtchn_pending_sel, 1ull);
    EXPECT_EQ(shinfo()->vcpu_info[1].evtchn_upcall_pending, 1);
    EXPECT_EQ(shinfo()->vcpu_info[0].evtchn_upcall_pending, 0);
    ASSERT_EQ(platform.kicks.size(), 1u);
    EXPECT_EQ(platform.kicks[0], 1u);
    // A second send while pending changes nothing and kicks nobody.
    EXPECT_EQ(send(p), 0);
    EXPECT_EQ(platform.kicks.size(), 1u);
}

// Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_assert_evtchn_irq (a per-vCPU vector goes through
// vlapic_set_irq).
TEST_F(EventChannelTest, ARunningVcpuIsNotKickedForAnInterruptControllerUpcall)
{
    // The LAPIC (per-vCPU vector) reaches a vCPU that is not blocked in a hypercall by itself.
    domain->vcpu(2).upcall_vector.store(0xe9);
    evtchn_port_t p = bind_ipi(2);
    platform.kicks.clear();
    EXPECT_EQ(send(p), 0);
    EXPECT_EQ(platform.lapic.size(), 1u);
    EXPECT_TRUE(platform.kicks.empty());
}

// Xen 4.19: xen/common/event_2l.c, evtchn_2l_set_pending / evtchn_2l_unmask.
TEST_F(EventChannelTest, MaskedSendStaysPendingUntilUnmask)
{
    evtchn_port_t p = bind_ipi(0);
    mask(p);
    domain->vcpu(0).blocked = true;
    platform.kicks.clear();
    EXPECT_EQ(send(p), 0);
    EXPECT_TRUE(pending(p));
    EXPECT_EQ(shinfo()->vcpu_info[0].evtchn_upcall_pending, 0);
    EXPECT_TRUE(platform.kicks.empty());
    put(evtchn_unmask { p });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_unmask, kScratch), 0);
    EXPECT_EQ(shinfo()->vcpu_info[0].evtchn_upcall_pending, 1);
    EXPECT_EQ(platform.kicks.size(), 1u);
}

// Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_assert_evtchn_irq (v->arch.hvm.evtchn_upcall_vector first).
TEST_F(EventChannelTest, UpcallGoesThroughPerVcpuVectorWhenSet)
{
    domain->vcpu(0).upcall_vector.store(0xe9);
    evtchn_port_t p = bind_ipi(0);
    EXPECT_EQ(send(p), 0);
    ASSERT_EQ(platform.lapic.size(), 1u);
    EXPECT_EQ(platform.lapic[0], (std::pair<uint32_t, uint8_t>(0, 0xe9)));
}

// Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_set_callback_via / hvm_assert_evtchn_irq
// (HVMIRQ_callback_gsi).
TEST_F(EventChannelTest, GsiCallbackRaisesTheLine)
{
    ASSERT_TRUE(domain->set_param(HVM_PARAM_CALLBACK_IRQ, 28, true));
    EXPECT_EQ(send(bind_ipi(0)), 0);
    EXPECT_TRUE(platform.gsi_levels[28]);
}

// Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_set_callback_via (HVMIRQ_callback_pci_intx:
// hvm_pci_intx_gsi).
TEST_F(EventChannelTest, PciIntxCallbackUsesXensSwizzle)
{
    // Type 1 (PCI INTx): devfn in bits 15:8, INTx in 1:0; GSI = ((dev << 2) + (dev >> 3) + intx) % 32 + 16.
    uint64_t dev2_intb = (1ull << 56) | ((2u << 3) << 8) | 1;
    ASSERT_TRUE(domain->set_param(HVM_PARAM_CALLBACK_IRQ, dev2_intb, true));
    EXPECT_EQ(domain->callback_via().kind, CallbackVia::Kind::PciIntx);
    EXPECT_EQ(domain->callback_via().gsi, 25u);
    EXPECT_EQ(send(bind_ipi(0)), 0);
    EXPECT_TRUE(platform.gsi_levels[25]);
    // A bus other than 0 does not exist on this platform.
    EXPECT_FALSE(domain->set_param(HVM_PARAM_CALLBACK_IRQ, dev2_intb | (1ull << 16), true));
}

// Xen 4.19: xen/common/event_channel.c, evtchn_bind_virq / evtchn_status / evtchn_bind_vcpu.
TEST_F(EventChannelTest, VirqBindingRules)
{
    put(evtchn_bind_virq { VIRQ_TIMER, 2, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch), 0);
    evtchn_port_t timer = get<evtchn_bind_virq>().port;
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch), -XEN_EEXIST);
    put(evtchn_bind_virq { VIRQ_CONSOLE, 1, 0 }); // global VIRQs start on vCPU 0
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch), -XEN_EINVAL);
    put(evtchn_bind_virq { NR_VIRQS, 0, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch), -XEN_EINVAL);
    put(evtchn_bind_virq { VIRQ_TIMER, 4, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch), -XEN_ENOENT);

    domain->evtchn().raise_virq(VIRQ_TIMER, 2);
    EXPECT_TRUE(pending(timer));
    EXPECT_EQ(shinfo()->vcpu_info[2].evtchn_upcall_pending, 1);

    put(evtchn_status { DOMID_SELF, timer, 0, 0, {} });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_status, kScratch), 0);
    auto st = get<evtchn_status>();
    EXPECT_EQ(st.status, unsigned(EVTCHNSTAT_virq));
    EXPECT_EQ(st.vcpu, 2u);
    EXPECT_EQ(st.u.virq, unsigned(VIRQ_TIMER));

    // Per-vCPU VIRQs cannot move.
    put(evtchn_bind_vcpu { timer, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_vcpu, kScratch), -XEN_EINVAL);
}

// Xen 4.19: xen/common/event_channel.c, evtchn_bind_interdomain (the new end starts pending) /
// evtchn_close / evtchn_send.
TEST_F(EventChannelTest, LoopbackInterdomainAndClose)
{
    put(evtchn_alloc_unbound { DOMID_SELF, DOMID_SELF, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_alloc_unbound, kScratch), 0);
    evtchn_port_t a = get<evtchn_alloc_unbound>().port;
    put(evtchn_bind_interdomain { DOMID_SELF, a, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_interdomain, kScratch), 0);
    evtchn_port_t b = get<evtchn_bind_interdomain>().local_port;
    EXPECT_NE(a, b);
    // The new end starts pending (sends to the unbound end were dropped), as Xen does.
    EXPECT_TRUE(pending(b));
    shinfo()->evtchn_pending[b / 64] &= ~(1ull << (b % 64));
    EXPECT_FALSE(pending(a));
    EXPECT_EQ(send(b), 0);
    EXPECT_TRUE(pending(a));
    EXPECT_FALSE(pending(b));

    put(evtchn_close { b });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_close, kScratch), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_close, kScratch), -XEN_EINVAL);
    put(evtchn_status { DOMID_SELF, a, 0, 0, {} });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_status, kScratch), 0);
    EXPECT_EQ(get<evtchn_status>().status, unsigned(EVTCHNSTAT_unbound));
    EXPECT_EQ(send(b), -XEN_EINVAL);
}

// Xen 4.19: xen/common/event_channel.c, get_free_port (-ENOSPC; lowest free port first).
TEST_F(EventChannelTest, PortExhaustionIsEnospc)
{
    make_domain(1, 15);
    for (int i = 1; i <= 15; ++i)
        EXPECT_EQ(bind_ipi(0), evtchn_port_t(i));
    put(evtchn_bind_ipi { 0, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_ipi, kScratch), -XEN_ENOSPC);
    put(evtchn_close { 7 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_close, kScratch), 0);
    EXPECT_EQ(bind_ipi(0), 7u);
}

// Xen 4.19: xen/common/event_channel.c, evtchn_send / evtchn_bind_ipi / evtchn_unmask /
// evtchn_alloc_unbound, do_event_channel_op.
TEST_F(EventChannelTest, BadArguments)
{
    EXPECT_EQ(send(0), -XEN_EINVAL);
    EXPECT_EQ(send(5000), -XEN_EINVAL);
    put(evtchn_bind_ipi { 17, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_ipi, kScratch), -XEN_ENOENT);
    put(evtchn_unmask { 5000 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_unmask, kScratch), -XEN_EINVAL);
    // Without a broker no other domain exists (ESRCH); domain 0 always does (EPERM).
    put(evtchn_alloc_unbound { 5, 0, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_alloc_unbound, kScratch), -XEN_ESRCH);
    put(evtchn_alloc_unbound { 0, 0, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_alloc_unbound, kScratch), -XEN_EPERM);
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_send, 0x7fff0000000ull), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, 99, kScratch), -XEN_ENOSYS);
}

// Xen 4.19: xen/common/event_channel.c, evtchn_bind_virq (past NR_VIRQS: -EINVAL); with the pins
// offered: DIFF emul_pin_virqs.
TEST_F(EventChannelTest, LegacyPinVirqsOnlyWhenOffered)
{
    put(evtchn_bind_virq { VIRQ_EMUL_PIN_START + 4, 0, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch), -XEN_EINVAL);
    EXPECT_FALSE(domain->pin_routed_to_evtchn(4));

    DomainSetup s = domain->setup();
    s.emul_pin_virqs = true;
    domain = std::make_unique<Domain>(platform, s);
    EXPECT_FALSE(domain->pin_routed_to_evtchn(4));
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch), 0);
    evtchn_port_t port = get<evtchn_bind_virq>().port;
    EXPECT_TRUE(domain->pin_routed_to_evtchn(4));
    EXPECT_FALSE(domain->pin_routed_to_evtchn(0));
    domain->evtchn().raise_virq(VIRQ_EMUL_PIN_START + 4);
    EXPECT_TRUE(pending(port));
    // Like any global VIRQ it can move to another vCPU and stays routed.
    put(evtchn_bind_vcpu { port, 2 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_vcpu, kScratch), 0);
    EXPECT_TRUE(domain->pin_routed_to_evtchn(4));
    put(evtchn_close { port });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_close, kScratch), 0);
    EXPECT_FALSE(domain->pin_routed_to_evtchn(4));
}

// Mirrors of checks the conformance guests make, so a regression fails here on every machine.

// Xen's evtchn_bind_vcpu (common/event_channel.c) rebinds interdomain, unbound, PIRQ and global VIRQ
// ports only; an IPI port belongs to its vCPU: -EINVAL, and it stays where it was.
TEST_F(EventChannelTest, BindVcpuRefusesToMoveAnIpiPort)
{
    evtchn_port_t p = bind_ipi(1);
    put(evtchn_bind_vcpu { p, 2 });
    EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_vcpu, kScratch), -XEN_EINVAL);
    domain->vcpu(2).upcall_vector.store(0); // no per-vCPU vectors: upcalls show in vcpu_info only
    EXPECT_EQ(send(p), 0);
    EXPECT_EQ(shinfo()->vcpu_info[1].evtchn_upcall_pending, 1);
    EXPECT_EQ(shinfo()->vcpu_info[2].evtchn_upcall_pending, 0);
}

// evtchn_send on an unbound port drops the notification and returns 0 (common/event_channel.c,
// ECS_UNBOUND); only a free port is -EINVAL.
TEST_F(EventChannelTest, SendOnAnUnboundPortIsDroppedWithoutError)
{
    put(evtchn_alloc_unbound { DOMID_SELF, DOMID_SELF, 0 });
    ASSERT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_alloc_unbound, kScratch), 0);
    evtchn_port_t p = get<evtchn_alloc_unbound>().port;
    EXPECT_EQ(send(p), 0);
    EXPECT_FALSE(pending(p));
    EXPECT_EQ(send(p + 1), -XEN_EINVAL); // never allocated
}

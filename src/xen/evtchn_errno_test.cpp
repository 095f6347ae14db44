// Unit mirrors of the event-channel conformance guests' errno cases
// (guests/conformance/evtchn_errno, evtchn_ports, evtchn_ipi, emul_pin), one test per guest case,
// named after it, so a regression fails here on every machine and under ASan. Expected values: Xen
// 4.19, xen/common/event_channel.c unless a case says otherwise.
#include "xen/abi/event_channel.h"
#include "xen/test_support.h"

using namespace xkvm;
using namespace xkvm::xen;
using namespace xkvm::xen::testing;

namespace {

constexpr evtchn_port_t kBeyond2l = 4096; // EVTCHN_2L_NR_CHANNELS for a 64-bit guest (event_2l.c)
constexpr domid_t kNobodysDomain = 0x7000;   // below DOMID_FIRST_RESERVED, never created
constexpr uint64_t kUnreachableArg = 0x7fff0000000ull;

struct EvtchnErrno : XenFixture {
    evtchn_port_t unbound = 0, ipi = 0, timer = 0, closed = 0;

    void SetUp() override
    {
        XenFixture::SetUp();
        unbound = alloc_unbound(DOMID_SELF);
        ipi = bind_ipi(0).value();
        timer = bind_virq(VIRQ_TIMER, 0).value();
        closed = alloc_unbound(DOMID_SELF);
        EXPECT_EQ(close(closed), 0);
    }
    shared_info* shinfo() { return reinterpret_cast<shared_info*>(platform.mem->host_base() + platform.shared_info_offset); }
    bool masked(evtchn_port_t p) { return shinfo()->evtchn_mask[p / 64] & (1ull << (p % 64)); }
    int64_t op(unsigned cmd, uint64_t arg = kScratch) { return call(XEN_HYPERCALL_event_channel_op, cmd, arg); }

    evtchn_port_t alloc_unbound(domid_t remote)
    {
        put(evtchn_alloc_unbound { DOMID_SELF, remote, 0 });
        EXPECT_EQ(op(EVTCHNOP_alloc_unbound), 0);
        return get<evtchn_alloc_unbound>().port;
    }
    // The port, or the hypercall's (negative) answer.
    Result<evtchn_port_t> answer(int64_t rc, evtchn_port_t port)
    {
        if (rc != 0)
            return make_unexpected(Error { static_cast<int>(-rc), "refused" });
        return port;
    }
    Result<evtchn_port_t> bind_ipi(uint32_t vcpu)
    {
        put(evtchn_bind_ipi { vcpu, 0 });
        int64_t rc = op(EVTCHNOP_bind_ipi);
        return answer(rc, get<evtchn_bind_ipi>().port);
    }
    Result<evtchn_port_t> bind_virq(uint32_t virq, uint32_t vcpu)
    {
        put(evtchn_bind_virq { virq, vcpu, 0 });
        int64_t rc = op(EVTCHNOP_bind_virq);
        return answer(rc, get<evtchn_bind_virq>().port);
    }
    int64_t bind_virq_rc(uint32_t virq, uint32_t vcpu)
    {
        auto r = bind_virq(virq, vcpu);
        return r ? 0 : -int64_t(r.error().code);
    }
    int64_t bind_interdomain(domid_t dom, evtchn_port_t port)
    {
        put(evtchn_bind_interdomain { dom, port, 0 });
        return op(EVTCHNOP_bind_interdomain);
    }
    int64_t send(evtchn_port_t p)
    {
        put(evtchn_send { p });
        return op(EVTCHNOP_send);
    }
    int64_t close(evtchn_port_t p)
    {
        put(evtchn_close { p });
        return op(EVTCHNOP_close);
    }
    int64_t unmask(evtchn_port_t p)
    {
        put(evtchn_unmask { p });
        return op(EVTCHNOP_unmask);
    }
    int64_t bind_vcpu(evtchn_port_t p, uint32_t vcpu)
    {
        put(evtchn_bind_vcpu { p, vcpu });
        return op(EVTCHNOP_bind_vcpu);
    }
    int64_t status(domid_t dom, evtchn_port_t p)
    {
        put(evtchn_status { dom, p, 0, 0, {} });
        return op(EVTCHNOP_status);
    }
};

} // namespace

// xen/common/event_channel.c, evtchn_send: a free port (0 included) and a VIRQ port are -EINVAL; an
// unbound port drops the event.
TEST_F(EvtchnErrno, SendOnABadPortIsEinval)
{
    EXPECT_EQ(send(0), -XEN_EINVAL);
    EXPECT_EQ(send(closed), -XEN_EINVAL);
    EXPECT_EQ(send(kBeyond2l), -XEN_EINVAL);
    EXPECT_EQ(send(0xffffffffu), -XEN_EINVAL);
    EXPECT_EQ(send(timer), -XEN_EINVAL);
    EXPECT_EQ(send(unbound), 0);
}

// xen/common/event_channel.c, evtchn_close: port_is_valid, then ECS_FREE / ECS_RESERVED -> -EINVAL.
TEST_F(EvtchnErrno, CloseOfABadPortIsEinval)
{
    EXPECT_EQ(close(0), -XEN_EINVAL);
    EXPECT_EQ(close(closed), -XEN_EINVAL);
    EXPECT_EQ(close(kBeyond2l), -XEN_EINVAL);
}

// xen/common/event_channel.c, evtchn_unmask checks only port_is_valid; port 0 and a closed port
// unmask to no effect (event_2l.c, evtchn_2l_unmask leaves the bit: it is not the guest's to clear
// here).
TEST_F(EvtchnErrno, UnmaskChecksOnlyTheRange)
{
    EXPECT_EQ(unmask(kBeyond2l), -XEN_EINVAL);
    EXPECT_EQ(unmask(0xffffffffu), -XEN_EINVAL);
    shinfo()->evtchn_mask[0] |= 1ull | (1ull << closed);
    EXPECT_EQ(unmask(0), 0);
    EXPECT_EQ(unmask(closed), 0);
    EXPECT_TRUE(masked(0));
    EXPECT_TRUE(masked(closed));
}

// xen/common/event_channel.c, evtchn_status: -EINVAL only out of range; port 0 and free ports read
// ECS_FREE -> closed; the unbound end's remote domain is stored resolved (DOMID_SELF becomes the
// domain's id).
TEST_F(EvtchnErrno, StatusOfBadPorts)
{
    EXPECT_EQ(status(DOMID_SELF, kBeyond2l), -XEN_EINVAL);
    EXPECT_EQ(status(DOMID_SELF, 0), 0);
    EXPECT_EQ(get<evtchn_status>().status, unsigned(EVTCHNSTAT_closed));
    EXPECT_EQ(status(DOMID_SELF, closed), 0);
    EXPECT_EQ(get<evtchn_status>().status, unsigned(EVTCHNSTAT_closed));
    EXPECT_EQ(status(DOMID_SELF, unbound), 0);
    EXPECT_EQ(get<evtchn_status>().status, unsigned(EVTCHNSTAT_unbound));
    EXPECT_EQ(get<evtchn_status>().u.unbound.dom, domain->domid());
}

// xen/common/event_channel.c, evtchn_bind_vcpu: domain_vcpu() first (-ENOENT), then the port
// (-EINVAL); IPI and per-vCPU VIRQ ports cannot move (-EINVAL).
TEST_F(EvtchnErrno, BindVcpuErrors)
{
    EXPECT_EQ(bind_vcpu(0, 0), -XEN_EINVAL);
    EXPECT_EQ(bind_vcpu(closed, 0), -XEN_EINVAL);
    EXPECT_EQ(bind_vcpu(kBeyond2l, 0), -XEN_EINVAL);
    EXPECT_EQ(bind_vcpu(ipi, 0), -XEN_EINVAL);
    EXPECT_EQ(bind_vcpu(timer, 0), -XEN_EINVAL);
    EXPECT_EQ(bind_vcpu(unbound, 4), -XEN_ENOENT);
    EXPECT_EQ(bind_vcpu(kBeyond2l, 4), -XEN_ENOENT);
    EXPECT_EQ(bind_vcpu(unbound, 0xffffffffu), -XEN_ENOENT);
    EXPECT_EQ(bind_vcpu(unbound, 3), 0);
}

// xen/common/event_channel.c, evtchn_bind_virq: virq range (-EINVAL; the emulated-pin range is
// -EINVAL unless offered), a global VIRQ on vCPU != 0 (-EINVAL, before the vCPU lookup), a missing
// vCPU (-ENOENT), bound already (-EEXIST).
TEST_F(EvtchnErrno, BindVirqErrors)
{
    EXPECT_EQ(bind_virq_rc(VIRQ_EMUL_PIN_START, 0), -XEN_EINVAL);
    EXPECT_EQ(bind_virq_rc(VIRQ_EMUL_PIN_START + VIRQ_EMUL_PIN_NUM, 0), -XEN_EINVAL);
    EXPECT_EQ(bind_virq_rc(0xffffffffu, 0), -XEN_EINVAL);
    EXPECT_EQ(bind_virq_rc(VIRQ_DOM_EXC, 1), -XEN_EINVAL);
    EXPECT_EQ(bind_virq_rc(VIRQ_CON_RING, 4), -XEN_EINVAL);
    EXPECT_EQ(bind_virq_rc(VIRQ_TIMER, 0), -XEN_EEXIST);
    EXPECT_EQ(bind_virq_rc(VIRQ_DEBUG, 0), 0);
    EXPECT_EQ(bind_virq_rc(VIRQ_DEBUG, 0), -XEN_EEXIST);
    EXPECT_EQ(bind_virq_rc(VIRQ_DOM_EXC, 0), 0);
    EXPECT_EQ(bind_virq_rc(VIRQ_DOM_EXC, 0), -XEN_EEXIST);
    EXPECT_EQ(bind_virq_rc(VIRQ_TIMER, 4), -XEN_ENOENT);
    EXPECT_EQ(bind_virq_rc(VIRQ_TIMER, 0x80000000u), -XEN_ENOENT);
    for (uint32_t v = 1; v < 4; ++v) {
        EXPECT_EQ(bind_virq_rc(VIRQ_TIMER, v), 0) << "vcpu " << v;
        EXPECT_EQ(bind_virq_rc(VIRQ_TIMER, v), -XEN_EEXIST) << "vcpu " << v;
    }
}

// xen/common/event_channel.c, evtchn_bind_ipi: domain_vcpu() == NULL -> -ENOENT.
TEST_F(EvtchnErrno, BindIpiOnAMissingVcpuIsEnoent)
{
    EXPECT_EQ(bind_ipi(4).error().code, XEN_ENOENT);
    EXPECT_EQ(bind_ipi(0x1000).error().code, XEN_ENOENT);
    EXPECT_EQ(bind_ipi(0xffffffffu).error().code, XEN_ENOENT);
}

// xen/common/event_channel.c, evtchn_bind_interdomain: rcu_lock_domain_by_any_id (-ESRCH), then the
// remote port must be ECS_UNBOUND and offered to us (-EINVAL).
TEST_F(EvtchnErrno, BindInterdomainErrors)
{
    EXPECT_EQ(bind_interdomain(DOMID_SELF, ipi), -XEN_EINVAL);
    EXPECT_EQ(bind_interdomain(DOMID_SELF, 0), -XEN_EINVAL);
    EXPECT_EQ(bind_interdomain(DOMID_SELF, closed), -XEN_EINVAL);
    EXPECT_EQ(bind_interdomain(DOMID_SELF, kBeyond2l), -XEN_EINVAL);
    evtchn_port_t for_dom0 = alloc_unbound(0);
    EXPECT_EQ(bind_interdomain(DOMID_SELF, for_dom0), -XEN_EINVAL);
    EXPECT_EQ(bind_interdomain(0, 1), -XEN_EINVAL);
    EXPECT_EQ(bind_interdomain(kNobodysDomain, 1), -XEN_ESRCH);
    EXPECT_EQ(bind_interdomain(DOMID_INVALID, 1), -XEN_ESRCH);
    ASSERT_EQ(bind_interdomain(DOMID_SELF, unbound), 0);
    EXPECT_EQ(bind_interdomain(DOMID_SELF, unbound), -XEN_EINVAL);
}

// xen/common/event_channel.c: alloc_unbound / status / reset of another domain: the lookup first
// (-ESRCH), then XSM (xsm_evtchn_unbound etc., dummy policy: -EPERM). The remote end of an unbound
// port is not checked.
TEST_F(EvtchnErrno, OtherDomainsAreEpermOrEsrch)
{
    put(evtchn_alloc_unbound { 0, DOMID_SELF, 0 });
    EXPECT_EQ(op(EVTCHNOP_alloc_unbound), -XEN_EPERM);
    put(evtchn_alloc_unbound { kNobodysDomain, DOMID_SELF, 0 });
    EXPECT_EQ(op(EVTCHNOP_alloc_unbound), -XEN_ESRCH);
    EXPECT_EQ(status(0, 1), -XEN_EPERM);
    EXPECT_EQ(status(kNobodysDomain, 1), -XEN_ESRCH);
    put(evtchn_reset { 0 });
    EXPECT_EQ(op(EVTCHNOP_reset), -XEN_EPERM);
    put(evtchn_reset { kNobodysDomain });
    EXPECT_EQ(op(EVTCHNOP_reset), -XEN_ESRCH);
    evtchn_port_t p = alloc_unbound(kNobodysDomain);
    EXPECT_EQ(status(DOMID_SELF, p), 0);
    EXPECT_EQ(get<evtchn_status>().u.unbound.dom, kNobodysDomain);
}

// xen/common/event_channel.c, do_event_channel_op copies every argument in first: -EFAULT.
TEST_F(EvtchnErrno, BadPointersAreEfault)
{
    for (unsigned cmd : { EVTCHNOP_alloc_unbound, EVTCHNOP_bind_interdomain, EVTCHNOP_bind_virq, EVTCHNOP_close,
                          EVTCHNOP_send, EVTCHNOP_status, EVTCHNOP_bind_ipi, EVTCHNOP_bind_vcpu, EVTCHNOP_unmask,
                          EVTCHNOP_reset })
        EXPECT_EQ(op(cmd, kUnreachableArg), -XEN_EFAULT) << "EVTCHNOP " << cmd;
}

// xen/common/event_channel.c, do_event_channel_op's default: -ENOSYS; evtchn_set_priority with the
// 2-level ABI (no set_priority hook): -ENOSYS.
TEST_F(EvtchnErrno, UnknownOpsAreEnosys)
{
    EXPECT_EQ(op(15), -XEN_ENOSYS);
    EXPECT_EQ(op(99), -XEN_ENOSYS);
    EXPECT_EQ(op(0x7fffffff), -XEN_ENOSYS);
    struct {
        uint32_t port, priority;
    } prio { ipi, 7 };
    put(prio);
    EXPECT_EQ(op(EVTCHNOP_set_priority), -XEN_ENOSYS);
    // DIFF(no_fifo_abi): Xen offers the FIFO ABI (event_fifo.c, evtchn_fifo_init_control).
    EXPECT_EQ(op(EVTCHNOP_init_control), -XEN_ENOSYS);
}

// xen/common/event_channel.c, evtchn_ports guest: get_free_port gives the lowest free port, -ENOSPC
// when none is left, for every way to a port (evtchn_alloc_unbound, bind_virq, bind_ipi,
// bind_interdomain).
TEST_F(EvtchnErrno, EveryWayToAPortIsEnospcWhenFull)
{
    make_domain(2, 15);
    evtchn_port_t last = 0;
    for (int i = 1; i <= 15; ++i)
        last = alloc_unbound(DOMID_SELF);
    ASSERT_EQ(last, 15u);
    EXPECT_EQ(bind_ipi(0).error().code, XEN_ENOSPC);
    EXPECT_EQ(bind_ipi(1).error().code, XEN_ENOSPC);
    EXPECT_EQ(bind_virq_rc(VIRQ_TIMER, 0), -XEN_ENOSPC);
    EXPECT_EQ(bind_virq_rc(VIRQ_DOM_EXC, 0), -XEN_ENOSPC);
    EXPECT_EQ(bind_interdomain(DOMID_SELF, 15), -XEN_ENOSPC);
    put(evtchn_alloc_unbound { DOMID_SELF, DOMID_SELF, 0 });
    EXPECT_EQ(op(EVTCHNOP_alloc_unbound), -XEN_ENOSPC);
    EXPECT_EQ(status(DOMID_SELF, 16), -XEN_EINVAL); // beyond max_evtchn_port: never a port
}

// xen/common/event_channel.c, evtchn_ipi guest: a closed IPI port is free again: send -EINVAL.
TEST_F(EvtchnErrno, ClosedIpiPortsAreGone)
{
    evtchn_port_t p = bind_ipi(2).value();
    EXPECT_EQ(send(p), 0);
    EXPECT_EQ(close(p), 0);
    EXPECT_EQ(send(p), -XEN_EINVAL);
}

// DIFF(emul_pin_virqs): Xen 4.19 has no emulated-pin VIRQs (xen/common/event_channel.c,
// evtchn_bind_virq: -EINVAL past NR_VIRQS). emul_pin guest, with them offered: the emulated-pin
// VIRQs are global (vCPU 0 only) and bound once (virq_is_global, xen/common/event_channel.c,
// evtchn_bind_virq).
TEST_F(EvtchnErrno, EmulatedPinVirqsAreGlobalAndBoundOnce)
{
    DomainSetup s = domain->setup();
    s.emul_pin_virqs = true;
    domain = std::make_unique<Domain>(platform, s);
    EXPECT_EQ(bind_virq_rc(VIRQ_EMUL_PIN_START + 4, 0), 0);
    EXPECT_EQ(bind_virq_rc(VIRQ_EMUL_PIN_START + 4, 0), -XEN_EEXIST);
    EXPECT_EQ(bind_virq_rc(VIRQ_EMUL_PIN_START + 4, 1), -XEN_EINVAL);
    EXPECT_EQ(bind_virq_rc(VIRQ_EMUL_PIN_START + VIRQ_EMUL_PIN_NUM, 0), -XEN_EINVAL);
}

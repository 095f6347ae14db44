// Unit mirrors of the errno cases of the sched_op, hvm_param, evtchn_upcall, memory_op, vcpu_op,
// pv_timer and vcpu_info conformance guests (guests/conformance/), one test per guest case, named
// after it, so a regression fails here on every machine and under ASan. Each cites where Xen 4.19
// gives the answer.
#include "xen/abi/compat32.h"
#include "xen/abi/event_channel.h"
#include "xen/abi/hvm.h"
#include "xen/abi/memory.h"
#include "xen/abi/sched.h"
#include "xen/abi/vcpu.h"
#include "xen/test_support.h"

using namespace xkvm;
using namespace xkvm::xen;
using namespace xkvm::xen::testing;

namespace {

constexpr uint64_t kUnreadableArg = 0x7fff0000000ull; // far beyond guest RAM
constexpr uint64_t kPollList = XenFixture::kScratch + 0x100;
constexpr uint64_t kOneMs = 1'000'000;

struct HypercallErrno : XenFixture {
    shared_info* shinfo() { return reinterpret_cast<shared_info*>(platform.mem->host_base() + platform.shared_info_offset); }
    int64_t sched(unsigned cmd, uint64_t arg = kScratch, bool mode64 = true)
    {
        return call(XEN_HYPERCALL_sched_op, cmd, arg, 0, 0, 0, mode64);
    }
    int64_t poll(uint32_t nr, uint64_t ports = kPollList, uint64_t timeout = 0)
    {
        put(sched_poll { reinterpret_cast<evtchn_port_t*>(ports), nr, timeout });
        return sched(SCHEDOP_poll);
    }
    evtchn_port_t pending_ipi()
    {
        put(evtchn_bind_ipi { 0, 0 }, kScratch + 0x800);
        EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_ipi, kScratch + 0x800), 0);
        evtchn_port_t p = get<evtchn_bind_ipi>(kScratch + 0x800).port;
        domain->evtchn().raise(p);
        return p;
    }
    int64_t param(unsigned cmd, domid_t dom, uint32_t index, uint64_t value = 0)
    {
        put(xen_hvm_param { dom, index, value });
        return call(XEN_HYPERCALL_hvm_op, cmd, kScratch);
    }
    int64_t vcpu_op(unsigned cmd, uint32_t vcpu, uint64_t arg = 0, uint32_t caller = 0)
    {
        return call(XEN_HYPERCALL_vcpu_op, cmd, vcpu, arg, caller);
    }
    int64_t periodic(uint32_t vcpu, uint64_t period_ns)
    {
        put(vcpu_set_periodic_timer { period_ns });
        return vcpu_op(VCPUOP_set_periodic_timer, vcpu, kScratch);
    }
    int64_t register_vcpu_info(uint32_t vcpu, uint64_t mfn, uint32_t offset)
    {
        put(vcpu_register_vcpu_info { mfn, offset, 0 });
        return vcpu_op(VCPUOP_register_vcpu_info, vcpu, kScratch);
    }
};

} // namespace

// sched_op guest. xen/common/sched/core.c, do_sched_op: SCHEDOP_yield takes no argument.
TEST_F(HypercallErrno, SchedOpYieldReturnsZero)
{
    EXPECT_EQ(sched(SCHEDOP_yield, 0), 0);
    EXPECT_EQ(sched(SCHEDOP_yield, kUnreadableArg), 0);
}

// xen/arch/x86/hvm/hypercall.c: hvm_hypercall_table has no sched_op_compat (PV only): -ENOSYS.
TEST_F(HypercallErrno, SchedOpCompatIsPvOnly)
{
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op_compat, SCHEDOP_yield), -XEN_ENOSYS);
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op_compat, 99), -XEN_ENOSYS);
}

// xen/common/sched/core.c, vcpu_block_enable_events: local_event_delivery_enable, then block.
TEST_F(HypercallErrno, SchedOpBlockUnmasksEventDelivery)
{
    shinfo()->vcpu_info[0].evtchn_upcall_mask = 1;
    EXPECT_EQ(sched(SCHEDOP_block, 0), 0);
    EXPECT_EQ(shinfo()->vcpu_info[0].evtchn_upcall_mask, 0);
    EXPECT_EQ(last->effect, HypercallEffect::Block);
}

// xen/common/sched/core.c, do_poll: a pending listed port returns at once; so does a timeout
// already passed.
TEST_F(HypercallErrno, SchedOpPollReturnsForPendingPortOrPastTimeout)
{
    evtchn_port_t p = pending_ipi();
    put(p, kPollList);
    EXPECT_EQ(poll(1), 0);
    EXPECT_EQ(last->effect, HypercallEffect::None);
    shinfo()->evtchn_pending[0] = 0;
    EXPECT_EQ(poll(1, kPollList, 1), 0); // 1 ns after boot: long gone
    EXPECT_EQ(last->effect, HypercallEffect::None);
    EXPECT_EQ(poll(1, kPollList, platform.now_ns), 0); // due now: the poll timer fires at once
    EXPECT_EQ(last->effect, HypercallEffect::None);
    EXPECT_EQ(poll(1, kPollList, platform.now_ns + 1), 0);
    EXPECT_EQ(last->effect, HypercallEffect::Block);
}

// xen/common/sched/core.c, do_set_timer_op: a deadline 2^50 ns or more away fires in 100 ms
// instead (Linux's wrapped jiffies); one just under that is kept.
TEST_F(HypercallErrno, SetTimerOpFarFutureBoundary)
{
    put(evtchn_bind_virq { VIRQ_TIMER, 0, 0 }, kScratch + 0x800);
    ASSERT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch + 0x800), 0);
    evtchn_port_t port = get<evtchn_bind_virq>(kScratch + 0x800).port;
    auto pending = [&] { return ((shinfo()->evtchn_pending[port / 64] >> (port % 64)) & 1) != 0; };
    EXPECT_EQ(call(XEN_HYPERCALL_set_timer_op, platform.now_ns + (1ull << 50)), 0);
    platform.advance(100 * kOneMs - 1);
    EXPECT_FALSE(pending());
    platform.advance(1);
    EXPECT_TRUE(pending());
    shinfo()->evtchn_pending[port / 64] = 0;
    EXPECT_EQ(call(XEN_HYPERCALL_set_timer_op, platform.now_ns + (1ull << 50) - 1), 0);
    platform.advance(200 * kOneMs);
    EXPECT_FALSE(pending());
}

// xen/common/sched/core.c, do_poll: nr_ports > 128 -> -EINVAL, the port list unreadable -> -EFAULT,
// a port that is not valid (xen/include/xen/event.h, evtchn_port_poll: port_is_valid) -> -EINVAL;
// do_sched_op: the argument unreadable -> -EFAULT. The same with the 32-bit layout
// (compat/sched.c).
TEST_F(HypercallErrno, SchedOpPollNegativeCases)
{
    EXPECT_EQ(poll(129, kPollList, 1), -XEN_EINVAL);
    EXPECT_EQ(poll(1, kUnreadableArg, 1), -XEN_EFAULT);
    put<evtchn_port_t>(1u << 20, kPollList);
    EXPECT_EQ(poll(1, kPollList, 1), -XEN_EINVAL);
    EXPECT_EQ(sched(SCHEDOP_poll, kUnreadableArg), -XEN_EFAULT);
    put(sched_poll_compat32 { static_cast<uint32_t>(kPollList), 129, 1 });
    EXPECT_EQ(sched(SCHEDOP_poll, kScratch, false), -XEN_EINVAL);
    put(sched_poll_compat32 { static_cast<uint32_t>(kPollList), 1, 1 });
    EXPECT_EQ(sched(SCHEDOP_poll, kScratch, false), -XEN_EINVAL);
}

// sched_op guest. xen/common/sched/core.c, do_poll: each entry is copied (__copy_from_guest_offset)
// and judged (xen/include/xen/event.h, evtchn_port_poll) before the next is read, so a pending port
// ends the poll even when the list goes on into memory that cannot be read or names bad ports;
// evtchn_port_poll: a valid port that is free or reserved (port 0, a closed port) is not usable:
// -EINVAL.
TEST_F(HypercallErrno, SchedOpPollReadsAndJudgesOnePortAtATime)
{
    constexpr uint64_t kRamEnd = 0x1000000; // the fixture's RAM ends here; a hole follows
    evtchn_port_t p = pending_ipi();
    put(p, kRamEnd - sizeof(evtchn_port_t));
    EXPECT_EQ(poll(2, kRamEnd - sizeof(evtchn_port_t), 1), 0) << "the second entry is never read";
    put(p, kPollList);
    put<evtchn_port_t>(1u << 20, kPollList + 4);
    EXPECT_EQ(poll(2, kPollList, 1), 0) << "the bad port after a pending one is never judged";
    shinfo()->evtchn_pending[0] = 0;
    EXPECT_EQ(poll(2, kRamEnd - sizeof(evtchn_port_t), 1), -XEN_EFAULT);
    EXPECT_EQ(poll(2, kPollList, 1), -XEN_EINVAL);
    put<evtchn_port_t>(0, kPollList);
    EXPECT_EQ(poll(1, kPollList, 1), -XEN_EINVAL) << "port 0 is reserved";
    put(p, kScratch + 0x800);
    ASSERT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_close, kScratch + 0x800), 0);
    put(p, kPollList);
    EXPECT_EQ(poll(1, kPollList, 1), -XEN_EINVAL) << "a closed port";
}

// xen/common/sched/core.c, do_sched_op: copy_from_guest fails -> -EFAULT, and the domain runs on.
TEST_F(HypercallErrno, SchedOpShutdownBadPointerIsEfaultAndDomainRuns)
{
    EXPECT_EQ(sched(SCHEDOP_shutdown, kUnreadableArg), -XEN_EFAULT);
    EXPECT_EQ(last->effect, HypercallEffect::None);
    EXPECT_EQ(sched(SCHEDOP_shutdown_code, kUnreadableArg), -XEN_EFAULT);
    EXPECT_FALSE(domain->preset_shutdown_code().has_value());
}

// xen/common/sched/core.c, do_sched_op: rcu_lock_domain_by_id (no DOMID_SELF: -ESRCH), then
// XSM_DM_PRIV, which an unprivileged domain fails for itself and for dom0 (-EPERM).
TEST_F(HypercallErrno, SchedOpRemoteShutdownNeedsPrivilege)
{
    put(sched_remote_shutdown { 7, SHUTDOWN_poweroff });
    EXPECT_EQ(sched(SCHEDOP_remote_shutdown), -XEN_EPERM);
    EXPECT_EQ(last->effect, HypercallEffect::None);
    put(sched_remote_shutdown { 0, SHUTDOWN_poweroff });
    EXPECT_EQ(sched(SCHEDOP_remote_shutdown), -XEN_EPERM);
    put(sched_remote_shutdown { DOMID_SELF, SHUTDOWN_poweroff });
    EXPECT_EQ(sched(SCHEDOP_remote_shutdown), -XEN_ESRCH);
    put(sched_remote_shutdown { 0x7000, SHUTDOWN_poweroff });
    EXPECT_EQ(sched(SCHEDOP_remote_shutdown), -XEN_ESRCH);
    EXPECT_EQ(sched(SCHEDOP_remote_shutdown, kUnreadableArg), -XEN_EFAULT);
}

// xen/common/sched/core.c, do_sched_op: default -> -ENOSYS.
TEST_F(HypercallErrno, SchedOpUnknownSubopIsEnosys)
{
    EXPECT_EQ(sched(99, 0), -XEN_ENOSYS);
    EXPECT_EQ(sched(0x7fffffff, 0), -XEN_ENOSYS);
}

// hvm_param guest. xen/arch/x86/hvm/hvm.c, hvmop_get_param / hvmop_set_param: index >=
// HVM_NR_PARAMS -> -EINVAL before the domain is looked up.
TEST_F(HypercallErrno, HvmParamBadIndexIsEinval)
{
    EXPECT_EQ(param(HVMOP_get_param, DOMID_SELF, HVM_NR_PARAMS), -XEN_EINVAL);
    EXPECT_EQ(param(HVMOP_get_param, DOMID_SELF, 0xffffffffu), -XEN_EINVAL);
    EXPECT_EQ(param(HVMOP_set_param, DOMID_SELF, HVM_NR_PARAMS), -XEN_EINVAL);
    EXPECT_EQ(param(HVMOP_set_param, DOMID_SELF, 1000), -XEN_EINVAL);
    EXPECT_EQ(param(HVMOP_get_param, 0x7000, HVM_NR_PARAMS), -XEN_EINVAL);
}

// xen/arch/x86/hvm/hvm.c, hvm_allow_set_param: a parameter not on the guest-settable list, set by
// the domain itself, is -EPERM (STORE_PFN, CONSOLE_PFN), and nothing changes.
TEST_F(HypercallErrno, HvmParamToolstackParamsAreEperm)
{
    ASSERT_TRUE(domain->set_param(HVM_PARAM_STORE_PFN, 0xfeffe, false));
    EXPECT_EQ(param(HVMOP_set_param, DOMID_SELF, HVM_PARAM_STORE_PFN, 5), -XEN_EPERM);
    EXPECT_EQ(param(HVMOP_set_param, DOMID_SELF, HVM_PARAM_CONSOLE_PFN, 5), -XEN_EPERM);
    EXPECT_EQ(domain->get_param(HVM_PARAM_STORE_PFN).value(), 0xfeffeu);
}

// xen/arch/x86/hvm/hvm.c, hvmop_get_param / set_param: rcu_lock_domain_by_any_id (-ESRCH); dom0 is
// HVM (PVH) for xkvm, so xsm_hvm_param(XSM_TARGET) refuses (-EPERM). The own id works like
// DOMID_SELF.
TEST_F(HypercallErrno, HvmParamOtherDomainIsEperm)
{
    EXPECT_EQ(param(HVMOP_get_param, 0, HVM_PARAM_STORE_PFN), -XEN_EPERM);
    EXPECT_EQ(param(HVMOP_set_param, 0, HVM_PARAM_CALLBACK_IRQ), -XEN_EPERM);
    EXPECT_EQ(param(HVMOP_get_param, 0x7000, HVM_PARAM_STORE_PFN), -XEN_ESRCH);
    EXPECT_EQ(param(HVMOP_set_param, 0x7000, HVM_PARAM_CALLBACK_IRQ), -XEN_ESRCH);
    EXPECT_EQ(param(HVMOP_get_param, 7, HVM_PARAM_STORE_PFN), 0);
}

// xen/arch/x86/hvm/hvm.c, do_hvm_op: copy_from_guest -> -EFAULT; default -> -ENOSYS.
TEST_F(HypercallErrno, HvmParamBadPointerAndUnknownSubop)
{
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_get_param, kUnreadableArg), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_param, kUnreadableArg), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, 99, kScratch), -XEN_ENOSYS);
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, 0x7fffffff, kScratch), -XEN_ENOSYS);
}

// xen/common/event_channel.c, evtchn_upcall guest. xen/arch/x86/hvm/hvm.c,
// hvmop_set_evtchn_upcall_vector: vector < 0x10 -> -EINVAL, checked before domain_vcpu() ->
// -ENOENT.
TEST_F(HypercallErrno, UpcallVectorBelow0x10IsEinvalMissingVcpuEnoent)
{
    put(xen_hvm_evtchn_upcall_vector { 0, 0x0f });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_evtchn_upcall_vector, kScratch), -XEN_EINVAL);
    put(xen_hvm_evtchn_upcall_vector { 9, 0x0f });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_evtchn_upcall_vector, kScratch), -XEN_EINVAL);
    put(xen_hvm_evtchn_upcall_vector { 4, 0x10 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_evtchn_upcall_vector, kScratch), -XEN_ENOENT);
    put(xen_hvm_evtchn_upcall_vector { 3, 0x10 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_evtchn_upcall_vector, kScratch), 0);
    EXPECT_EQ(domain->vcpu(3).upcall_vector.load(), 0x10);
}

// memory_op guest. xen/arch/x86/mm.c, arch_memory_op XENMEM_memory_map: copy_from_guest /
// copy_to_guest -> -EFAULT.
TEST_F(HypercallErrno, MemoryMapBadPointersAreEfault)
{
    struct {
        uint32_t nr;
        uint32_t pad;
        uint64_t buf;
    } m { 4, 0, kUnreadableArg };
    put(m);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_memory_map, kScratch), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_memory_map, kUnreadableArg), -XEN_EFAULT);
}

// xen/common/memory.c, do_memory_op XENMEM_maximum_reservation: dom0 exists, xsm refuses (-EPERM);
// the domid unreadable -> -EFAULT; default -> -ENOSYS.
TEST_F(HypercallErrno, MemoryOpReservationNegativeCasesAndUnknownSubop)
{
    put<domid_t>(0);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_maximum_reservation, kScratch), -XEN_EPERM);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_maximum_reservation, kUnreadableArg), -XEN_EFAULT);
    put<domid_t>(DOMID_SELF);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, 60, kScratch), -XEN_ENOSYS);
}

// xen/common/memory.c, xenmem_add_to_physmap_one (x86/mm.c): shared_info has one frame (idx != 0 ->
// -EINVAL), an unknown space -> -EINVAL; nothing is mapped.
TEST_F(HypercallErrno, AddToPhysmapNegativeCasesMapNothing)
{
    ASSERT_TRUE(platform.mem->write_obj<uint8_t>(0x300000, 0x5c));
    xen_add_to_physmap a {};
    a.domid = DOMID_SELF;
    a.space = XENMAPSPACE_shared_info;
    a.idx = 1;
    a.gpfn = 0x300;
    put(a);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_add_to_physmap, kScratch), -XEN_EINVAL);
    a.idx = 0;
    a.space = 99;
    put(a);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_add_to_physmap, kScratch), -XEN_EINVAL);
    EXPECT_FALSE(domain->shared_info_gfn());
    EXPECT_EQ(platform.mem->read_obj<uint8_t>(0x300000).value(), 0x5c);
}

// vcpu_op guest. xen/common/domain.c, do_vcpu_op: domain_vcpu() first (-ENOENT whatever the
// sub-op); default -> -ENOSYS (after arch_do_vcpu_op); VCPUOP_up of a vCPU never initialised ->
// -EINVAL.
TEST_F(HypercallErrno, VcpuOpMissingVcpuUnknownSubopAndUpWithoutInitialise)
{
    EXPECT_EQ(vcpu_op(VCPUOP_is_up, 4), -XEN_ENOENT);
    EXPECT_EQ(vcpu_op(99, 11), -XEN_ENOENT);
    EXPECT_EQ(vcpu_op(0x7fffffff, 0), -XEN_ENOSYS);
    EXPECT_EQ(vcpu_op(VCPUOP_up, 1), -XEN_EINVAL);
    EXPECT_EQ(vcpu_op(VCPUOP_is_up, 1), 0);
    // x86/domain.c, arch_initialise_vcpu: the context unreadable -> -EFAULT, and nothing starts.
    EXPECT_EQ(vcpu_op(VCPUOP_initialise, 1, kUnreadableArg), -XEN_EFAULT);
    EXPECT_EQ(vcpu_op(VCPUOP_up, 1), -XEN_EINVAL);
    EXPECT_EQ(vcpu_op(VCPUOP_register_vcpu_info, 0, kUnreadableArg), -XEN_EFAULT);
}

// pv_timer guest. xen/common/domain.c, do_vcpu_op: VCPUOP_set_periodic_timer: period < 1 ms
// (MILLISECS(1)) or > STIME_DELTA_MAX -> -EINVAL; set/stop_singleshot_timer of another vCPU
// -> -EINVAL; copy_from_guest -> -EFAULT.
TEST_F(HypercallErrno, TimerArgumentsXenRefuses)
{
    EXPECT_EQ(periodic(0, 0), -XEN_EINVAL);
    EXPECT_EQ(periodic(0, kOneMs - 1), -XEN_EINVAL);
    EXPECT_EQ(periodic(0, 1ull << 62), -XEN_EINVAL);
    EXPECT_EQ(periodic(0, 1ull << 63), -XEN_EINVAL);
    EXPECT_EQ(periodic(0, (1ull << 62) - 1), 0);
    EXPECT_EQ(periodic(4, 2 * kOneMs), -XEN_ENOENT);
    EXPECT_EQ(vcpu_op(VCPUOP_set_periodic_timer, 0, kUnreadableArg), -XEN_EFAULT);
    EXPECT_EQ(vcpu_op(VCPUOP_set_singleshot_timer, 0, kUnreadableArg), -XEN_EFAULT);
    EXPECT_EQ(vcpu_op(VCPUOP_set_singleshot_timer, 4, 0), -XEN_ENOENT);
    for (uint32_t v = 1; v < 4; ++v) {
        EXPECT_EQ(vcpu_op(VCPUOP_set_singleshot_timer, v, kUnreadableArg), -XEN_EINVAL) << "vcpu " << v;
        EXPECT_EQ(vcpu_op(VCPUOP_stop_singleshot_timer, v, 0), -XEN_EINVAL) << "vcpu " << v;
    }
}

// vcpu_info guest. xen/common/domain.c, map_guest_area / map_vcpu_info: a record crossing its page
// or not 8-byte aligned -> -ENXIO; a frame that is not RAM -> -EINVAL; already registered ->
// -EBUSY, checked before the range.
TEST_F(HypercallErrno, RegisterVcpuInfoRefusesBadPlacesAndSecondRegistration)
{
    for (uint32_t v = 0; v < 4; ++v) {
        EXPECT_EQ(register_vcpu_info(v, 0x300, 4096 - 32), -XEN_ENXIO) << "vcpu " << v;
        EXPECT_EQ(register_vcpu_info(v, 0x300, 4096 - 64 + 8), -XEN_ENXIO) << "vcpu " << v;
        EXPECT_EQ(register_vcpu_info(v, 0x300, 68), -XEN_ENXIO) << "vcpu " << v;
        EXPECT_EQ(register_vcpu_info(v, kUnreadableArg >> 12, 0), -XEN_EINVAL) << "vcpu " << v;
        EXPECT_EQ(register_vcpu_info(v, 1ull << 60, 0), -XEN_EINVAL) << "vcpu " << v;
    }
    ASSERT_EQ(register_vcpu_info(1, 0x300, 64), 0);
    EXPECT_EQ(register_vcpu_info(1, 0x300, 64), -XEN_EBUSY);
    EXPECT_EQ(register_vcpu_info(1, 0x300, 256), -XEN_EBUSY);
    EXPECT_EQ(register_vcpu_info(1, 0x300, 4096 - 32), -XEN_EBUSY);
}

// vcpu_info guest. xen/common/domain.c, common_vcpu_op (VCPUOP_register_vcpu_info): -EINVAL when
// mfn << PAGE_SHIFT loses bits, the offset leaves the frame or the address is all ones; then -EBUSY
// for a vCPU that has registered; only map_guest_area asks whether the frame is RAM
// (check_get_page_from_gfn: -EINVAL). A frame far above RAM is refused either way, but as -EBUSY
// once registered.
TEST_F(HypercallErrno, RegisterVcpuInfoChecksTheAddressThenRepeatThenRam)
{
    const uint64_t top = (1ull << 52) - 1; // the highest frame whose address fits in 64 bits
    for (uint32_t v : { 1u, 2u }) {
        EXPECT_EQ(register_vcpu_info(v, 1ull << 40, 0), -XEN_EINVAL) << "not RAM, vcpu " << v;
        EXPECT_EQ(register_vcpu_info(v, top, 0), -XEN_EINVAL) << "not RAM, vcpu " << v;
    }
    ASSERT_EQ(register_vcpu_info(1, 0x300, 64), 0);
    EXPECT_EQ(register_vcpu_info(1, 1ull << 40, 0), -XEN_EBUSY);
    EXPECT_EQ(register_vcpu_info(1, top, 0), -XEN_EBUSY);
    EXPECT_EQ(register_vcpu_info(1, kUnreadableArg >> 12, 0), -XEN_EBUSY);
    for (uint32_t v : { 1u, 2u }) {
        EXPECT_EQ(register_vcpu_info(v, 1ull << 52, 0), -XEN_EINVAL) << "shift loses bits, vcpu " << v;
        EXPECT_EQ(register_vcpu_info(v, 1ull << 60, 0), -XEN_EINVAL) << "shift loses bits, vcpu " << v;
        EXPECT_EQ(register_vcpu_info(v, 0x300, 4096), -XEN_EINVAL) << "offset leaves the frame, vcpu " << v;
        EXPECT_EQ(register_vcpu_info(v, 0x300, 0xffffffffu), -XEN_EINVAL) << "offset leaves the frame, vcpu " << v;
        EXPECT_EQ(register_vcpu_info(v, top, 4095), -XEN_EINVAL) << "address all ones, vcpu " << v;
    }
    EXPECT_EQ(register_vcpu_info(2, top, 4094), -XEN_ENXIO) << "the record wraps past the top";
    EXPECT_EQ(register_vcpu_info(1, top, 4094), -XEN_EBUSY);
}

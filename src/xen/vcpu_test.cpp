// vcpu_op and set_timer_op: vCPU bring-up, vcpu_info placement, PV timers.
#include "xen/abi/event_channel.h"
#include "xen/abi/vcpu.h"
#include "xen/test_support.h"

using namespace xkvm;
using namespace xkvm::xen;
using namespace xkvm::xen::testing;

namespace {

struct VcpuOps : XenFixture {
    shared_info* shinfo() { return reinterpret_cast<shared_info*>(platform.mem->host_base() + platform.shared_info_offset); }

    evtchn_port_t bind_timer(uint32_t vcpu)
    {
        put(evtchn_bind_virq { VIRQ_TIMER, vcpu, 0 }, kScratch + 0x800);
        EXPECT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_virq, kScratch + 0x800), 0);
        return get<evtchn_bind_virq>(kScratch + 0x800).port;
    }
    bool pending(evtchn_port_t p) { return shinfo()->evtchn_pending[p / 64] & (1ull << (p % 64)); }
    void clear(evtchn_port_t p) { shinfo()->evtchn_pending[p / 64] &= ~(1ull << (p % 64)); }
};

} // namespace

// Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_set_singleshot_timer); xen/common/sched/core.c,
// vcpu_singleshot_timer_fn.
TEST_F(VcpuOps, SingleshotFiresAtTheDeadlineNeverEarly)
{
    evtchn_port_t port = bind_timer(0);
    uint64_t deadline = platform.now_ns + 5'000'000;
    put(vcpu_set_singleshot_timer { deadline, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_singleshot_timer, 0, kScratch), 0);
    platform.advance(4'999'999);
    EXPECT_FALSE(pending(port));
    platform.advance(1);
    EXPECT_TRUE(pending(port));
    clear(port);
    platform.advance(100'000'000);
    EXPECT_FALSE(pending(port)); // single shot
}

TEST_F(VcpuOps, SingleshotInThePast)
{
    evtchn_port_t port = bind_timer(0);
    // DIFF(sshottmr_future_etime): Xen 4.18+ ignores the flag and fires at once.
    put(vcpu_set_singleshot_timer { platform.now_ns - 1, VCPU_SSHOTTMR_future });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_singleshot_timer, 0, kScratch), -XEN_ETIME);
    EXPECT_FALSE(pending(port));
    put(vcpu_set_singleshot_timer { platform.now_ns - 1, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_singleshot_timer, 0, kScratch), 0);
    EXPECT_TRUE(pending(port)); // fires at once
}

// Xen 4.19: xen/common/sched/core.c, do_set_timer_op (0 stops); xen/common/compat/... 32-bit:
// xen/arch/x86/hvm/hypercall.c (two registers).
TEST_F(VcpuOps, StopSingleshotAndSetTimerOp)
{
    evtchn_port_t port = bind_timer(0);
    EXPECT_EQ(call(XEN_HYPERCALL_set_timer_op, platform.now_ns + 1000), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_stop_singleshot_timer, 0), 0);
    platform.advance(10'000);
    EXPECT_FALSE(pending(port));
    EXPECT_EQ(call(XEN_HYPERCALL_set_timer_op, platform.now_ns + 1000), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_set_timer_op, 0), 0); // 0 stops it too
    platform.advance(10'000);
    EXPECT_FALSE(pending(port));
    // 32-bit callers split the deadline over two registers.
    uint64_t deadline = platform.now_ns + (1ull << 33);
    EXPECT_EQ(call(XEN_HYPERCALL_set_timer_op, deadline & 0xffffffff, deadline >> 32, 0, 0, 0, false), 0);
    platform.advance((1ull << 33) - 1);
    EXPECT_FALSE(pending(port));
    platform.advance(1);
    EXPECT_TRUE(pending(port));
}

// Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_set_periodic_timer, MILLISECS(1) ..
// STIME_DELTA_MAX); xen/common/sched/core.c, vcpu_periodic_timer_work.
TEST_F(VcpuOps, PeriodicTicksAndStops)
{
    evtchn_port_t port = bind_timer(1);
    put(vcpu_set_periodic_timer { 2'000'000 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_periodic_timer, 1, kScratch, /*vcpu*/ 1), 0);
    // The first tick comes at once (none came within the last period), then one per period.
    EXPECT_TRUE(pending(port));
    clear(port);
    for (int tick = 0; tick < 3; ++tick) {
        platform.advance(1'999'999);
        EXPECT_FALSE(pending(port)) << tick;
        platform.advance(1);
        EXPECT_TRUE(pending(port)) << tick;
        clear(port);
    }
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_stop_periodic_timer, 1, 0, 1), 0);
    platform.advance(10'000'000);
    EXPECT_FALSE(pending(port));
    // Set again within a period of the last tick: no extra tick, the next one keeps its place.
    platform.advance(1'000'000);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_periodic_timer, 1, kScratch, 1), 0);
    clear(port);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_stop_periodic_timer, 1, 0, 1), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_periodic_timer, 1, kScratch, 1), 0);
    EXPECT_FALSE(pending(port)) << "ticked again within a period of the last tick";
    platform.advance(1'999'999);
    EXPECT_FALSE(pending(port));
    platform.advance(1);
    EXPECT_TRUE(pending(port));
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_stop_periodic_timer, 1, 0, 1), 0);
    clear(port);

    put(vcpu_set_periodic_timer { 999'999 }); // under 1 ms
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_periodic_timer, 1, kScratch, 1), -XEN_EINVAL);
    put(vcpu_set_periodic_timer { 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_periodic_timer, 1, kScratch, 1), -XEN_EINVAL);
    put(vcpu_set_periodic_timer { 1ull << 62 }); // over STIME_DELTA_MAX
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_periodic_timer, 1, kScratch, 1), -XEN_EINVAL);
    // Another vCPU's periodic timer may be set and stopped (its single-shot timer may not).
    put(vcpu_set_periodic_timer { 2'000'000 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_periodic_timer, 2, kScratch, 1), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_stop_periodic_timer, 2, 0, 1), 0);
    put(vcpu_set_singleshot_timer { platform.now_ns + 1000, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_singleshot_timer, 2, kScratch, 1), -XEN_EINVAL);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_set_periodic_timer, 1, 0x7fff0000000ull, 1), -XEN_EFAULT);
}

// Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_register_vcpu_info), map_guest_area,
// vcpu_info_populate.
TEST_F(VcpuOps, RegisterVcpuInfoRules)
{
    shinfo()->vcpu_info[1].evtchn_upcall_mask = 1;
    shinfo()->vcpu_info[1].arch.cr2 = 0xabc;
    put(vcpu_register_vcpu_info { 0x300, 0x40, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_register_vcpu_info, 1, kScratch), 0);
    auto* vi = reinterpret_cast<vcpu_info*>(platform.mem->host_base() + 0x300040);
    EXPECT_EQ(vi->arch.cr2, 0xabcu);           // contents carried over
    EXPECT_EQ(vi->evtchn_pending_sel, ~0ull);  // everything marked pending
    EXPECT_EQ(vi->evtchn_upcall_pending, 1);
    // Xen 4.19's answers: re-registration EBUSY, a record crossing a page or misaligned ENXIO, an
    // offset past the page or a frame that is not RAM EINVAL, a missing vCPU ENOENT.
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_register_vcpu_info, 1, kScratch), -XEN_EBUSY);
    put(vcpu_register_vcpu_info { 0x301, 4096 - 56, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_register_vcpu_info, 2, kScratch), -XEN_ENXIO);
    put(vcpu_register_vcpu_info { 0x301, 0x44, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_register_vcpu_info, 2, kScratch), -XEN_ENXIO);
    put(vcpu_register_vcpu_info { 0x301, 4096, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_register_vcpu_info, 2, kScratch), -XEN_EINVAL);
    put(vcpu_register_vcpu_info { 0x7000000, 0, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_register_vcpu_info, 2, kScratch), -XEN_EINVAL);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_register_vcpu_info, 2, 0x7fff0000000ull), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_register_vcpu_info, 9, kScratch), -XEN_ENOENT);
    // Events now land in the new place.
    put(evtchn_bind_ipi { 1, 0 });
    ASSERT_EQ(call(XEN_HYPERCALL_event_channel_op, EVTCHNOP_bind_ipi, kScratch), 0);
    EXPECT_EQ(domain->shared_info().vcpu_info(1), reinterpret_cast<uint8_t*>(vi));
}

// Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_initialise / up / down / is_up);
// xen/arch/x86/hvm/domain.c, arch_set_info_hvm_guest.
TEST_F(VcpuOps, InitialiseUpDown)
{
    vcpu_hvm_context ctx {};
    ctx.mode = VCPU_HVM_MODE_64B;
    ctx.cpu_regs.x86_64.rip = 0x123456;
    ctx.cpu_regs.x86_64.cr0 = x86::kCr0Pe | x86::kCr0Pg;
    ctx.cpu_regs.x86_64.cr4 = x86::kCr4Pae;
    ctx.cpu_regs.x86_64.cr3 = 0x5000;
    ctx.cpu_regs.x86_64.efer = x86::kEferLme;
    put(ctx);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_up, 2), -XEN_EINVAL); // no start state yet
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_initialise, 2, kScratch), 0);
    ASSERT_TRUE(platform.initialised.count(2));
    EXPECT_EQ(platform.initialised[2].rip, 0x123456u);
    EXPECT_TRUE(platform.initialised[2].cs.l);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_initialise, 2, kScratch), -XEN_EEXIST);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_up, 2), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_is_up, 2), 1);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_down, 2), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_is_up, 2), 0);

    ctx.mode = 7;
    put(ctx);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_initialise, 3, kScratch), -XEN_EINVAL);
    ctx.mode = VCPU_HVM_MODE_64B;
    ctx.cpu_regs.x86_64.cr4 = 0; // long mode without PAE
    put(ctx);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_initialise, 3, kScratch), -XEN_EINVAL);
    ctx.cpu_regs.x86_64.cr4 = x86::kCr4Pae;
    ctx.cpu_regs.x86_64.cr3 = 0x7000000000; // not guest memory
    put(ctx);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_initialise, 3, kScratch), -XEN_EINVAL);

    vcpu_hvm_context c32 {};
    c32.mode = VCPU_HVM_MODE_32B;
    c32.cpu_regs.x86_32.eip = 0x9000;
    c32.cpu_regs.x86_32.cr0 = x86::kCr0Pe;
    c32.cpu_regs.x86_32.cs_limit = 0xffffffff;
    c32.cpu_regs.x86_32.cs_ar = 0xc9b; // present, s, code exec/read accessed, db, g
    c32.cpu_regs.x86_32.ds_ar = c32.cpu_regs.x86_32.ss_ar = c32.cpu_regs.x86_32.es_ar = 0xc93;
    put(c32);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_initialise, 3, kScratch), 0);
    EXPECT_EQ(platform.initialised[3].rip, 0x9000u);
    c32.cpu_regs.x86_32.cs_ar = 0xc93; // a data segment as CS
    put(c32);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_initialise, 1, kScratch), -XEN_EINVAL);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_initialise, 1, 0x7fff0000000ull), -XEN_EFAULT);
}

// Xen 4.19: xen/arch/x86/time.c, update_vcpu_system_time / update_domain_wallclock_time.
TEST_F(VcpuOps, SharedInfoMappingPublishesClockAndWallclock)
{
    EXPECT_EQ(shinfo()->wc_version, 0u);
    ASSERT_TRUE(domain->map_shared_info(0x200));
    EXPECT_EQ(shinfo()->wc_version, 2u);
    EXPECT_GT(shinfo()->wc_sec, 1'600'000'000u); // some time after 2020
    EXPECT_EQ(shinfo()->vcpu_info[0].time.version, 2u);
    EXPECT_EQ(shinfo()->vcpu_info[3].time.version, 2u);
}

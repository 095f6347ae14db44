// Each hypercall family through the dispatch table, with negative cases.
#include "xen/abi/hvm.h"
#include "xen/abi/memory.h"
#include "xen/abi/sched.h"
#include "xen/abi/vcpu.h"
#include "xen/abi/version.h"
#include "xen/test_support.h"

using namespace xkvm;
using namespace xkvm::xen;
using namespace xkvm::xen::testing;

namespace {
constexpr uint64_t kBadPtr = 0x7fff0000000ull; // far beyond guest RAM
}

using Hypercalls = XenFixture;

// Xen 4.19: xen/arch/x86/hvm/hypercall.c, hvm_hypercall (CPL != 0: -EPERM; no handler: -ENOSYS).
TEST_F(Hypercalls, UnknownHypercallIsEnosysAndUserModeIsEperm)
{
    EXPECT_EQ(call(XEN_HYPERCALL_mmu_update), -XEN_ENOSYS);
    EXPECT_EQ(call(200), -XEN_ENOSYS);
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_version, 0, 0, 0, /*cpl*/ 3), -XEN_EPERM);
}

// Xen 4.19: xen/common/kernel.c, do_xen_version.
TEST_F(Hypercalls, XenVersion)
{
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_version), (4 << 16) | 19);
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_extraversion, kScratch), 0);
    EXPECT_STREQ(reinterpret_cast<char*>(platform.mem->host_base() + kScratch), ".0-xkvm");
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_capabilities, kScratch), 0);
    std::string caps(reinterpret_cast<char*>(platform.mem->host_base() + kScratch));
    EXPECT_NE(caps.find("hvm-3.0-x86_64"), std::string::npos);
    EXPECT_NE(caps.find("hvm-3.0-x86_32p"), std::string::npos);

    put(xen_feature_info { 0, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_get_features, kScratch), 0);
    uint32_t submap = get<xen_feature_info>().submap;
    EXPECT_TRUE(submap & (1u << XENFEAT_hvm_callback_vector));
    EXPECT_TRUE(submap & (1u << XENFEAT_hvm_safe_pvclock));
    // common/kernel.c, do_xen_version: a translated domain that is not direct-mapped says so; no
    // hvm_pirqs without PIRQ emulation (libxl_create.c: hvm.pirq defaults to false in 4.19).
    EXPECT_TRUE(submap & (1u << XENFEAT_not_direct_mapped));
    EXPECT_FALSE(submap & (1u << XENFEAT_direct_mapped));
    EXPECT_FALSE(submap & (1u << XENFEAT_hvm_pirqs));
    // DIFF(no_phys_area_ops): Xen 4.18+ offers both; xkvm has neither vcpu_op behind them.
    EXPECT_FALSE(submap & (1u << XENFEAT_runstate_phys_area));
    EXPECT_FALSE(submap & (1u << XENFEAT_vcpu_time_phys_area));
    put(xen_feature_info { 1, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_get_features, kScratch), -XEN_EINVAL);

    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_extraversion, kBadPtr), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_get_features, kBadPtr), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, 99), -XEN_ENOSYS);
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_pagesize), 4096);
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_pagesize, kScratch), -XEN_EINVAL);
    // An unprivileged domain gets the placeholder string, and success.
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_commandline, kScratch), 0);
    EXPECT_STREQ(reinterpret_cast<const char*>(get<std::array<char, 16>>().data()), "<denied>");
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_commandline, kBadPtr), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_xen_version, XENVER_build_id, kScratch), -XEN_EPERM);
}

// Xen 4.19: xen/drivers/char/console.c, do_console_io.
TEST_F(Hypercalls, ConsoleIo)
{
    const char msg[] = "hello console";
    ASSERT_TRUE(platform.mem->write(kScratch, std::span(reinterpret_cast<const uint8_t*>(msg), sizeof(msg) - 1)));
    EXPECT_EQ(call(XEN_HYPERCALL_console_io, CONSOLEIO_write, sizeof(msg) - 1, kScratch), 0);
    EXPECT_EQ(platform.console, "hello console");
    EXPECT_EQ(call(XEN_HYPERCALL_console_io, CONSOLEIO_read, 16, kScratch), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_console_io, CONSOLEIO_write, 8, kBadPtr), -XEN_EFAULT);
    // A count that runs off the end of RAM faults part way, never reads beyond it.
    EXPECT_EQ(call(XEN_HYPERCALL_console_io, CONSOLEIO_write, 0xffffffff, 16 * memory::MiB - 4), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_console_io, 7, 1, kScratch), -XEN_ENOSYS);
}

TEST_F(Hypercalls, SchedOpShutdownAndCodes)
{
    put(sched_shutdown { SHUTDOWN_poweroff });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_shutdown, kScratch), 0);
    EXPECT_EQ(last->effect, HypercallEffect::Shutdown);
    EXPECT_EQ(last->shutdown_reason, unsigned(SHUTDOWN_poweroff));

    // Xen (common/sched/core.c, do_sched_op) takes any reason, truncated to 8 bits.
    put(sched_shutdown { 42 });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_shutdown, kScratch), 0);
    EXPECT_EQ(last->effect, HypercallEffect::Shutdown);
    EXPECT_EQ(last->shutdown_reason, 42u);
    put(sched_shutdown { 0x102 });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_shutdown, kScratch), 0);
    EXPECT_EQ(last->shutdown_reason, unsigned(SHUTDOWN_suspend));
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_shutdown, kBadPtr), -XEN_EFAULT);

    // shutdown_code keeps the first code for the VMM, which applies it to whatever ends the domain.
    put(sched_shutdown { SHUTDOWN_reboot });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_shutdown_code, kScratch), 0);
    put(sched_shutdown { SHUTDOWN_suspend });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_shutdown_code, kScratch), 0);
    EXPECT_EQ(domain->preset_shutdown_code(), std::optional<unsigned>(SHUTDOWN_reboot));
    put(sched_shutdown { SHUTDOWN_crash });
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_shutdown, kScratch), 0);
    EXPECT_EQ(last->shutdown_reason, unsigned(SHUTDOWN_crash));

    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_yield), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, SCHEDOP_block), 0);
    EXPECT_EQ(last->effect, HypercallEffect::Block);
    EXPECT_EQ(call(XEN_HYPERCALL_sched_op, 77), -XEN_ENOSYS);
}

// Xen 4.19: xen/arch/x86/hvm/hvm.c, hvmop_set_param / hvmop_get_param / hvm_allow_set_param.
TEST_F(Hypercalls, HvmParams)
{
    put(xen_hvm_param { DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, (2ull << 56) | 0xf3 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_param, kScratch), 0);
    EXPECT_EQ(domain->callback_via().kind, CallbackVia::Kind::Vector);
    EXPECT_EQ(domain->callback_via().vector, 0xf3);

    ASSERT_TRUE(domain->set_param(HVM_PARAM_STORE_PFN, 0xfeffe, false));
    put(xen_hvm_param { DOMID_SELF, HVM_PARAM_STORE_PFN, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_get_param, kScratch), 0);
    EXPECT_EQ(get<xen_hvm_param>().value, 0xfeffeu);

    put(xen_hvm_param { DOMID_SELF, HVM_NR_PARAMS, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_get_param, kScratch), -XEN_EINVAL);
    put(xen_hvm_param { DOMID_SELF, HVM_PARAM_STORE_PFN, 5 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_param, kScratch), -XEN_EPERM);
    // hvm.c, hvmop_get_param: rcu_lock_domain_by_any_id (-ESRCH), then XSM_TARGET (-EPERM); domain 0
    // is xkvm's toolstack, an HVM (PVH) domain, so the is-HVM check passes.
    put(xen_hvm_param { 0, HVM_PARAM_STORE_PFN, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_get_param, kScratch), -XEN_EPERM);
    put(xen_hvm_param { 3, HVM_PARAM_STORE_PFN, 0 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_get_param, kScratch), -XEN_ESRCH);
    put(xen_hvm_param { DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, (9ull << 56) });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_param, kScratch), -XEN_EINVAL);
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_get_param, kBadPtr), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, 999, kScratch), -XEN_ENOSYS);
}

// Issue 10: the hypercall only says "an event for the monitor"; the VMM decides whether one exists.
// Xen 4.19: xen/arch/x86/hvm/hvm.c, do_hvm_op (HVMOP_guest_request_vm_event: a non-NULL argument is
// -EINVAL).
TEST_F(Hypercalls, GuestRequestVmEventTakesNoArgument)
{
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_guest_request_vm_event, 0), 0);
    EXPECT_EQ(last->effect, HypercallEffect::GuestRequest);
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_guest_request_vm_event, kScratch), -XEN_EINVAL);
    EXPECT_EQ(last->effect, HypercallEffect::None);
}

// Xen 4.19: xen/arch/x86/hvm/hvm.c, hvmop_set_evtchn_upcall_vector.
TEST_F(Hypercalls, UpcallVectorPerVcpu)
{
    put(xen_hvm_evtchn_upcall_vector { 2, 0xe0 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_evtchn_upcall_vector, kScratch), 0);
    EXPECT_EQ(domain->vcpu(2).upcall_vector.load(), 0xe0);
    put(xen_hvm_evtchn_upcall_vector { 9, 0xe0 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_evtchn_upcall_vector, kScratch), -XEN_ENOENT);
    put(xen_hvm_evtchn_upcall_vector { 0, 0x05 });
    EXPECT_EQ(call(XEN_HYPERCALL_hvm_op, HVMOP_set_evtchn_upcall_vector, kScratch), -XEN_EINVAL);
}

// Xen 4.19: xen/arch/x86/mm.c, arch_memory_op (XENMEM_memory_map).
TEST_F(Hypercalls, MemoryMapTruncatesAndReportsCount)
{
    struct {
        uint32_t nr;
        uint32_t pad;
        uint64_t buf;
    } m { 2, 0, kScratch + 0x100 };
    put(m);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_memory_map, kScratch), 0);
    EXPECT_EQ(get<uint32_t>(), 2u);
    auto e1 = get<xen_e820_entry>(kScratch + 0x100 + 20);
    EXPECT_EQ(e1.addr, 0x100000u);
    EXPECT_EQ(e1.type, 1u);
    m.nr = 10;
    put(m);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_memory_map, kScratch), 0);
    EXPECT_EQ(get<uint32_t>(), 3u);
    m.buf = kBadPtr;
    put(m);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_memory_map, kScratch), -XEN_EFAULT);
}

// Xen 4.19: xen/arch/x86/mm.c, arch_memory_op; xen/common/compat/memory.c (the 32-bit layout).
TEST_F(Hypercalls, MemoryMapFor32BitCallers)
{
    struct {
        uint32_t nr;
        uint32_t buf;
    } m { 8, static_cast<uint32_t>(kScratch + 0x100) };
    put(m);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_memory_map, kScratch, 0, 0, 0, false), 0);
    EXPECT_EQ(get<uint32_t>(), 3u);
    EXPECT_EQ(get<xen_e820_entry>(kScratch + 0x100 + 40).addr, 0xfc000000u);
}

TEST_F(Hypercalls, AddToPhysmapSharedInfo)
{
    xen_add_to_physmap a {};
    a.domid = DOMID_SELF;
    a.space = XENMAPSPACE_shared_info;
    a.gpfn = 0x200;
    put(a);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_add_to_physmap, kScratch), 0);
    ASSERT_TRUE(domain->shared_info_gfn());
    EXPECT_EQ(*domain->shared_info_gfn(), 0x200u);
    // The guest now sees the shared_info page there.
    platform.mem->host_base()[platform.shared_info_offset + 8] = 0x5a;
    EXPECT_EQ(platform.mem->read_obj<uint8_t>(0x200008).value(), 0x5a);

    a.idx = 1;
    put(a);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_add_to_physmap, kScratch), -XEN_EINVAL);
    a.idx = 0;
    a.space = 77;
    put(a);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_add_to_physmap, kScratch), -XEN_EINVAL);
    a.space = XENMAPSPACE_shared_info;
    // common/memory.c: rcu_lock_domain_by_any_id (-ESRCH), then xatp_permission_check: domain 0 is
    // translated (PVH), so XSM_TARGET refuses (-EPERM); a PV dom0 would be -EACCES.
    a.domid = 0;
    put(a);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_add_to_physmap, kScratch), -XEN_EPERM);
    a.domid = 9;
    put(a);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_add_to_physmap, kScratch), -XEN_ESRCH);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_add_to_physmap, kBadPtr), -XEN_EFAULT);
}

TEST_F(Hypercalls, Reservations)
{
    put<domid_t>(DOMID_SELF);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_current_reservation, kScratch), 4000);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_maximum_reservation, kScratch), 4096);
    // common/memory.c, do_memory_op: rcu_lock_domain_by_any_id (-ESRCH), then
    // xsm_memory_stat_reservation (-EPERM).
    put<domid_t>(0);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_current_reservation, kScratch), -XEN_EPERM);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_maximum_reservation, kScratch), -XEN_EPERM);
    put<domid_t>(12);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_current_reservation, kScratch), -XEN_ESRCH);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, XENMEM_current_reservation, kBadPtr), -XEN_EFAULT);
    EXPECT_EQ(call(XEN_HYPERCALL_memory_op, 63, kScratch), -XEN_ENOSYS);
}

// Xen 4.19: xen/common/domain.c, do_vcpu_op (domain_vcpu: -ENOENT first; VCPUOP_is_up).
TEST_F(Hypercalls, VcpuOpIsUp)
{
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_is_up, 0), 1);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_is_up, 3), 0);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_is_up, 4), -XEN_ENOENT);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, VCPUOP_is_up, 0xffffffff), -XEN_ENOENT);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, 99, 0), -XEN_ENOSYS);
    EXPECT_EQ(call(XEN_HYPERCALL_vcpu_op, 99, 4), -XEN_ENOENT); // the vCPU is checked first
}

// Xen 4.19: xen/arch/x86/hvm/hypercall.c, hvm_hypercall (64-bit: rdi rsi rdx r10 r8 r9).
TEST(HypercallRegs, SixtyFourBitConventionTakesRdiRsiRdxR10R8R9)
{
    xkvm::x86::Regs r;
    for (int i = 0; i < 16; ++i)
        r.gpr[i] = (0xa0ull << 32) + i;
    auto hc = xkvm::xen::decode_hypercall_regs(r, true);
    using enum xkvm::x86::Gpr;
    EXPECT_EQ(hc.op, r.gpr[Rax]);
    EXPECT_EQ(hc.args, (std::array<uint64_t, 6> { r.gpr[Rdi], r.gpr[Rsi], r.gpr[Rdx], r.gpr[R10], r.gpr[R8], r.gpr[R9] }));
}

// Xen 4.19: xen/arch/x86/hvm/hypercall.c, hvm_hypercall (32-bit: ebx ecx edx esi edi ebp).
TEST(HypercallRegs, ThirtyTwoBitConventionTakesEbxEcxEdxEsiEdiEbpTruncated)
{
    xkvm::x86::Regs r;
    for (int i = 0; i < 16; ++i)
        r.gpr[i] = (0xdeadull << 32) | (0x100u + i);
    auto hc = xkvm::xen::decode_hypercall_regs(r, false);
    EXPECT_EQ(hc.op, 0x100u);
    EXPECT_EQ(hc.args, (std::array<uint64_t, 6> { 0x103, 0x101, 0x102, 0x106, 0x107, 0x105 }));
    EXPECT_EQ(xkvm::xen::hypercall_return_value(-22, false), 0xffffffeaull);
    EXPECT_EQ(xkvm::xen::hypercall_return_value(-22, true), static_cast<uint64_t>(-22));
}

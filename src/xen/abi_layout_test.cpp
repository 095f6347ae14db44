// The ABI is a wire format: pin every offset and size the guest depends on.
#include <cstddef>
#include <gtest/gtest.h>

#include "xen/abi/compat32.h"
#include "xen/abi/console.h"
#include "xen/abi/event_channel.h"
#include "xen/abi/hvm.h"
#include "xen/abi/memory.h"
#include "xen/abi/sched.h"
#include "xen/abi/vcpu.h"
#include "xen/abi/version.h"

static_assert(sizeof(vcpu_time_info) == 32);
static_assert(sizeof(vcpu_info) == 64);
static_assert(offsetof(vcpu_info, evtchn_pending_sel) == 8);
static_assert(offsetof(vcpu_info, time) == 32);
static_assert(offsetof(shared_info, evtchn_pending) == 2048);
static_assert(offsetof(shared_info, evtchn_mask) == 2560);
static_assert(offsetof(shared_info, wc_version) == 3072);
static_assert(offsetof(shared_info, wc_sec_hi) == 3084);
static_assert(sizeof(shared_info) <= 4096);

static_assert(sizeof(vcpu_info_compat32) == 64);
static_assert(offsetof(vcpu_info_compat32, evtchn_pending_sel) == 4);
static_assert(offsetof(vcpu_info_compat32, time) == 32);
static_assert(offsetof(shared_info_compat32, evtchn_pending) == 2048);
static_assert(offsetof(shared_info_compat32, evtchn_mask) == 2176);
static_assert(offsetof(shared_info_compat32, wc_version) == 2304);
static_assert(offsetof(shared_info_compat32, wc_sec_hi) == 2340);

static_assert(sizeof(xen_add_to_physmap) == 24);
static_assert(offsetof(xen_add_to_physmap, idx) == 8);
static_assert(offsetof(xen_add_to_physmap, gpfn) == 16);
static_assert(sizeof(xen_add_to_physmap_compat32) == 16);
static_assert(sizeof(xen_memory_map) == 16);
static_assert(sizeof(xen_memory_map_compat32) == 8);
static_assert(sizeof(xen_e820_entry) == 20);
static_assert(sizeof(sched_poll) == 24);
static_assert(offsetof(sched_poll, timeout) == 16);
static_assert(sizeof(sched_poll_compat32) == 16);
static_assert(offsetof(sched_poll_compat32, timeout) == 8);

static_assert(sizeof(evtchn_alloc_unbound) == 8);
static_assert(sizeof(evtchn_bind_interdomain) == 12);
static_assert(offsetof(evtchn_bind_interdomain, remote_port) == 4);
static_assert(sizeof(evtchn_bind_virq) == 12);
static_assert(sizeof(evtchn_status) == 24);
static_assert(offsetof(evtchn_status, u) == 16);
static_assert(sizeof(evtchn_bind_ipi) == 8);

static_assert(sizeof(xen_hvm_param) == 16);
static_assert(offsetof(xen_hvm_param, index) == 4);
static_assert(offsetof(xen_hvm_param, value) == 8);
static_assert(sizeof(hvm_start_info) == 56);
static_assert(offsetof(hvm_start_info, memmap_paddr) == 40);
static_assert(sizeof(hvm_memmap_table_entry) == 24);
static_assert(sizeof(hvm_modlist_entry) == 32);

static_assert(sizeof(vcpu_set_singleshot_timer) == 16);
static_assert(sizeof(vcpu_register_vcpu_info) == 16);
static_assert(sizeof(vcpu_hvm_x86_32) == 120);
static_assert(sizeof(vcpu_hvm_x86_64) == 112);
static_assert(offsetof(vcpu_hvm_context, cpu_regs) == 8);

static_assert(offsetof(xencons_interface, in_cons) == 3072);
static_assert(offsetof(xencons_interface, out_prod) == 3084);

// Xen 4.19: xen/include/public/xen.h, event_channel.h, vcpu.h, memory.h, sched.h (the layouts).
TEST(XenAbi, LayoutsArePinnedAtCompileTime)
{
    // The static_asserts above are the test; this keeps CTest aware of it.
    SUCCEED();
}

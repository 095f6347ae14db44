/* Conformance: HVMOP_get_param / HVMOP_set_param. The toolstack's xenstore and console pages and
 * channels, the guest-writable callback parameter, and the negative cases: bad index, bad pointer,
 * another domain, toolstack-only parameters, unknown sub-op. Built 32- and 64-bit. */
#include "conformance.h"

static long param_op(unsigned op, domid_t domid, uint32_t index, uint64_t* value)
{
    struct xen_hvm_param p = {.domid = domid, .index = index, .value = value ? *value : 0};
    long rc = hypercall_hvm_op(op, &p);
    if (rc == 0 && value)
        *value = p.value;
    return rc;
}

static bool reserved_in_memory_map(uint64_t pfn)
{
    struct guest_mem_region map[32];
    int n = guest_memory_map_xen(map, ARRAY_SIZE(map));
    uint64_t addr = pfn << PAGE_SHIFT;
    for (int i = 0; i < n; i++)
        if (addr >= map[i].addr && addr + PAGE_SIZE <= map[i].addr + map[i].size)
            return map[i].type == XEN_HVM_MEMMAP_TYPE_RESERVED;
    return false;
}

/* Xen 4.19: tools/libs/guest/xg_dom_x86.c (the toolstack sets STORE_PFN / CONSOLE_PFN);
 * xen/arch/x86/hvm/hvm.c, hvmop_get_param. */
TEST_CASE(store_and_console_pages)
{
    uint64_t store = 0, console = 0;
    REQUIRE_EQ(xen_get_param(HVM_PARAM_STORE_PFN, &store), 0);
    REQUIRE_EQ(xen_get_param(HVM_PARAM_CONSOLE_PFN, &console), 0);
    CHECK_NE(store, 0);
    CHECK_NE(console, 0);
    CHECK_NE(store, console);
    /* Pages the guest must not use as RAM: reserved in its memory map, below 4 GiB. */
    CHECK(reserved_in_memory_map(store));
    CHECK(reserved_in_memory_map(console));
    CHECK(store < (1ULL << 20));
}

static void check_channel(uint64_t port)
{
    struct evtchn_status st = {.dom = DOMID_SELF, .port = (evtchn_port_t)port};
    REQUIRE_EQ(hypercall_event_channel_op(EVTCHNOP_status, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_interdomain);
    CHECK_EQ(st.u.interdomain.dom, 0); /* the backends are dom0's */
}

/* Xen 4.19: tools/libs/light/libxl_dom.c (store and console channels are dom0's);
 * xen/arch/x86/hvm/hvm.c, hvmop_get_param. */
TEST_CASE(store_and_console_channels)
{
    uint64_t store = 0, console = 0;
    REQUIRE_EQ(xen_get_param(HVM_PARAM_STORE_EVTCHN, &store), 0);
    REQUIRE_EQ(xen_get_param(HVM_PARAM_CONSOLE_EVTCHN, &console), 0);
    CHECK_NE(store, 0);
    CHECK_NE(console, 0);
    CHECK_NE(store, console);
    check_channel(store);
    check_channel(console);
}

/* Xen 4.19: xen/arch/x86/hvm/hvm.c, hvm_set_param (HVM_PARAM_CALLBACK_IRQ);
 * xen/arch/x86/hvm/irq.c, hvm_set_callback_via. */
TEST_CASE(callback_irq_is_stored)
{
    uint64_t v = 0x1234;
    REQUIRE_EQ(xen_get_param(HVM_PARAM_CALLBACK_IRQ, &v), 0);
    CHECK_EQ(v, 0); /* nothing set at boot */
    const uint64_t vector = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT) | 0xf3;
    const uint64_t gsi = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_GSI << HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT) | 9;
    const uint64_t values[] = {vector, gsi, 0};
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        CHECK_EQ(xen_set_param(HVM_PARAM_CALLBACK_IRQ, values[i]), 0);
        v = 0x1234;
        CHECK_EQ(xen_get_param(HVM_PARAM_CALLBACK_IRQ, &v), 0);
        CHECK_EQ(v, values[i]);
    }
}

/* Xen 4.19: xen/arch/x86/hvm/hvm.c, hvmop_get_param (rcu_lock_domain_by_any_id takes DOMID_SELF or
 * the own id). */
TEST_CASE(explicit_own_domid_works)
{
    uint64_t a = 0, b = 1;
    CHECK_EQ(param_op(HVMOP_get_param, DOMID_SELF, HVM_PARAM_STORE_PFN, &a), 0);
    CHECK_EQ(param_op(HVMOP_get_param, (domid_t)xen_info.domid, HVM_PARAM_STORE_PFN, &b), 0);
    CHECK_EQ(a, b);
}

/* Xen 4.19: xen/arch/x86/hvm/hvm.c, hvmop_get_param / hvmop_set_param (index >= HVM_NR_PARAMS:
 * -EINVAL). */
TEST_CASE(bad_param_index_is_einval)
{
    uint64_t v = 0;
    CHECK_EQ(param_op(HVMOP_get_param, DOMID_SELF, HVM_NR_PARAMS, &v), -XEN_EINVAL);
    CHECK_EQ(param_op(HVMOP_get_param, DOMID_SELF, 0xffffffff, &v), -XEN_EINVAL);
    v = 1;
    CHECK_EQ(param_op(HVMOP_set_param, DOMID_SELF, HVM_NR_PARAMS, &v), -XEN_EINVAL);
    CHECK_EQ(param_op(HVMOP_set_param, DOMID_SELF, 1000, &v), -XEN_EINVAL);
}

/* Xen 4.19: xen/arch/x86/hvm/hvm.c, hvm_allow_set_param (not guest-settable, set by the domain
 * itself: -EPERM). */
TEST_CASE(toolstack_params_are_eperm)
{
    uint64_t store = 0, v;
    REQUIRE_EQ(xen_get_param(HVM_PARAM_STORE_PFN, &store), 0);
    v = 0x100;
    CHECK_EQ(param_op(HVMOP_set_param, DOMID_SELF, HVM_PARAM_STORE_PFN, &v), -XEN_EPERM);
    CHECK_EQ(param_op(HVMOP_set_param, DOMID_SELF, HVM_PARAM_CONSOLE_PFN, &v), -XEN_EPERM);
    uint64_t after = 0;
    CHECK_EQ(xen_get_param(HVM_PARAM_STORE_PFN, &after), 0);
    CHECK_EQ(after, store); /* unchanged */
}

/* Domain 0 is xkvm's toolstack, which guests see as a PVH dom0: Xen's is-HVM check on the target
 * passes and the XSM check refuses (xen/arch/x86/hvm/hvm.c, hvmop_get_param / hvmop_set_param).
 * Against a PV dom0 Xen would answer -EINVAL, from the is-HVM check that comes first. */
TEST_CASE(other_domain_is_eperm)
{
    uint64_t v = 0;
    CHECK_EQ(param_op(HVMOP_get_param, 0, HVM_PARAM_STORE_PFN, &v), -XEN_EPERM);
    v = 0;
    CHECK_EQ(param_op(HVMOP_set_param, 0, HVM_PARAM_CALLBACK_IRQ, &v), -XEN_EPERM);
    /* rcu_lock_domain_by_any_id finds nobody: -ESRCH; the index is checked before the domain. */
    CHECK_EQ(param_op(HVMOP_get_param, 0x7000, HVM_PARAM_STORE_PFN, &v), -XEN_ESRCH);
    CHECK_EQ(param_op(HVMOP_get_param, 0x7000, HVM_NR_PARAMS, &v), -XEN_EINVAL);
}

/* Xen 4.19: xen/arch/x86/hvm/hvm.c, do_hvm_op (copy_from_guest: -EFAULT). */
TEST_CASE(bad_pointer_is_efault)
{
    CHECK_EQ(hypercall_hvm_op(HVMOP_get_param, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    CHECK_EQ(hypercall_hvm_op(HVMOP_set_param, (void*)CONF_BAD_GPA), -XEN_EFAULT);
#if defined(__x86_64__)
    CHECK_EQ(hypercall_hvm_op(HVMOP_get_param, (void*)CONF_UNMAPPED_VA), -XEN_EFAULT);
#endif
}

/* Xen 4.19: xen/arch/x86/hvm/hvm.c, do_hvm_op (default: -ENOSYS). */
TEST_CASE(unknown_subop_is_enosys)
{
    struct xen_hvm_param p = {.domid = DOMID_SELF};
    CHECK_EQ(hypercall_hvm_op(99, &p), -XEN_ENOSYS);
    CHECK_EQ(hypercall_hvm_op(0x7fffffff, &p), -XEN_ENOSYS);
}

/* Xen 4.19: xen/arch/x86/hvm/hvm.c, do_hvm_op (HVMOP_get_time: NOW()). */
TEST_CASE(get_time_advances)
{
    struct xen_hvm_get_time a = {0}, b = {0};
    REQUIRE_EQ(hypercall_hvm_op(HVMOP_get_time, &a), 0);
    xen_yield();
    REQUIRE_EQ(hypercall_hvm_op(HVMOP_get_time, &b), 0);
    CHECK(a.now > 0);
    CHECK(b.now > a.now);
}

/* Conformance: sched_op without ending the domain. yield, block (returns at once when an event is
 * pending and re-enables event delivery), sched_op_compat being PV-only, poll (the 32-bit guest uses the 32-bit sched_poll layout),
 * and the negative cases of every sub-op: bad pointer, bad sub-op, too many ports, bad port,
 * remote_shutdown without privilege. The shutdown reasons themselves are the shutdown guest's.
 * Built 32- and 64-bit. */
#include "conformance.h"

static evtchn_port_t ipi_port;

/* A pending event on vCPU 0 through an IPI channel to ourselves. */
static bool make_event_pending(void)
{
    if (!ipi_port) {
        struct evtchn_bind_ipi b = {.vcpu = 0};
        if (hypercall_event_channel_op(EVTCHNOP_bind_ipi, &b) != 0)
            return false;
        ipi_port = b.port;
    }
    return xen_evtchn_send(ipi_port) == 0 && xen_evtchn_is_pending(ipi_port);
}

static void clear_event(struct shared_info* s)
{
    xen_evtchn_test_and_clear_pending(ipi_port);
    WRITE_ONCE(s->vcpu_info[0].evtchn_pending_sel, 0);
    WRITE_ONCE(s->vcpu_info[0].evtchn_upcall_pending, 0);
}

/* Xen 4.19: xen/common/sched/core.c, do_sched_op (SCHEDOP_yield takes no argument). */
TEST_CASE(yield_returns_zero)
{
    CHECK_EQ(hypercall_sched_op(SCHEDOP_yield, NULL), 0);
    CHECK_EQ(hypercall_sched_op(SCHEDOP_yield, (void*)CONF_BAD_GPA), 0); /* yield has no argument */
}

/* Xen 4.19: xen/arch/x86/hvm/hypercall.c (hvm_hypercall_table has no sched_op_compat: -ENOSYS). */
TEST_CASE(sched_op_compat_is_pv_only)
{
    /* Xen's hypercall table has sched_op_compat (6) for PV guests only: HVM callers get -ENOSYS. */
    CHECK_EQ(xen_hypercall(XEN_HYPERCALL_sched_op_compat, SCHEDOP_yield, 0, 0, 0, 0), -XEN_ENOSYS);
    CHECK_EQ(xen_hypercall(XEN_HYPERCALL_sched_op_compat, 99, 0, 0, 0, 0), -XEN_ENOSYS);
}

/* Xen 4.19: xen/common/sched/core.c, vcpu_block_enable_events (local_event_delivery_enable first). */
TEST_CASE(block_returns_when_event_pending_and_unmasks)
{
    struct shared_info* s = xen_shared_info();
    REQUIRE(s != NULL);
    WRITE_ONCE(s->vcpu_info[0].evtchn_upcall_mask, 1);
    REQUIRE(make_event_pending());
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].evtchn_upcall_pending), 1);
    /* IF is clear and no callback is set: nothing is delivered, block just returns. */
    CHECK_EQ(hypercall_sched_op(SCHEDOP_block, NULL), 0);
    CHECK_EQ(READ_ONCE(s->vcpu_info[0].evtchn_upcall_mask), 0); /* Xen enables delivery on block */
    clear_event(s);
}

/* Xen 4.19: xen/common/sched/core.c, do_poll (a pending listed port ends it at once). */
TEST_CASE(poll_returns_at_once_for_pending_port)
{
    struct shared_info* s = xen_shared_info();
    REQUIRE(s != NULL);
    REQUIRE(make_event_pending());
    evtchn_port_t ports[1] = {ipi_port};
    struct sched_poll p = {.ports = ports, .nr_ports = 1, .timeout = 0};
    CHECK_EQ(hypercall_sched_op(SCHEDOP_poll, &p), 0);
    CHECK(xen_evtchn_is_pending(ipi_port));
    clear_event(s);
}

/* Xen 4.19: xen/common/sched/core.c, do_poll (timeout already passed: returns). */
TEST_CASE(poll_with_past_timeout_returns)
{
    REQUIRE(ipi_port != 0);
    CHECK(!xen_evtchn_is_pending(ipi_port));
    evtchn_port_t ports[1] = {ipi_port};
    struct sched_poll p = {.ports = ports, .nr_ports = 1, .timeout = 1}; /* 1 ns after boot: long gone */
    CHECK_EQ(hypercall_sched_op(SCHEDOP_poll, &p), 0);
}

/* Xen 4.19: xen/common/sched/core.c, do_poll (nr_ports > 128: -EINVAL; the list unreadable:
 * -EFAULT) and xen/include/xen/event.h, evtchn_port_poll (a port that is not valid: -EINVAL). */
TEST_CASE(poll_negative_cases)
{
    static evtchn_port_t ports[129];
    for (unsigned i = 0; i < ARRAY_SIZE(ports); i++)
        ports[i] = ipi_port;
    struct sched_poll p = {.ports = ports, .nr_ports = 129, .timeout = 1};
    CHECK_EQ(hypercall_sched_op(SCHEDOP_poll, &p), -XEN_EINVAL); /* at most 128 ports */
    p.nr_ports = 1;
    p.ports = (evtchn_port_t*)CONF_BAD_GPA;
    CHECK_EQ(hypercall_sched_op(SCHEDOP_poll, &p), -XEN_EFAULT);
    evtchn_port_t beyond[1] = {1u << 20};
    p.ports = beyond;
    CHECK_EQ(hypercall_sched_op(SCHEDOP_poll, &p), -XEN_EINVAL);
    CHECK_EQ(hypercall_sched_op(SCHEDOP_poll, (void*)CONF_BAD_GPA), -XEN_EFAULT);
}

/* Xen 4.19: xen/common/sched/core.c, do_sched_op (copy_from_guest: -EFAULT). */
TEST_CASE(shutdown_bad_pointer_is_efault_and_domain_runs)
{
    CHECK_EQ(hypercall_sched_op(SCHEDOP_shutdown, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    CHECK_EQ(hypercall_sched_op(SCHEDOP_shutdown_code, (void*)CONF_BAD_GPA), -XEN_EFAULT);
#if defined(__x86_64__)
    CHECK_EQ(hypercall_sched_op(SCHEDOP_shutdown, (void*)CONF_UNMAPPED_VA), -XEN_EFAULT);
#endif
    CHECK_EQ(hypercall_xen_version(XENVER_version, NULL) >> 16, 4); /* still here */
}

/* xen/common/sched/core.c, do_sched_op: rcu_lock_domain_by_id (DOMID_SELF and missing domains:
 * -ESRCH), then xsm_schedop_shutdown(XSM_DM_PRIV), which refuses an unprivileged caller even for
 * itself (-EPERM). */
TEST_CASE(remote_shutdown_needs_privilege)
{
    struct sched_remote_shutdown r = {.domain_id = (domid_t)xen_info.domid, .reason = SHUTDOWN_poweroff};
    CHECK_EQ(hypercall_sched_op(SCHEDOP_remote_shutdown, &r), -XEN_EPERM);
    r.domain_id = 0;
    CHECK_EQ(hypercall_sched_op(SCHEDOP_remote_shutdown, &r), -XEN_EPERM);
    r.domain_id = DOMID_SELF;
    CHECK_EQ(hypercall_sched_op(SCHEDOP_remote_shutdown, &r), -XEN_ESRCH);
    r.domain_id = 0x7000; /* nobody has it */
    CHECK_EQ(hypercall_sched_op(SCHEDOP_remote_shutdown, &r), -XEN_ESRCH);
    CHECK_EQ(hypercall_sched_op(SCHEDOP_remote_shutdown, (void*)CONF_BAD_GPA), -XEN_EFAULT);
}

/* Xen 4.19: xen/common/sched/core.c, do_sched_op (default: -ENOSYS). */
TEST_CASE(unknown_subop_is_enosys)
{
    CHECK_EQ(hypercall_sched_op(99, NULL), -XEN_ENOSYS);
    CHECK_EQ(hypercall_sched_op(0x7fffffff, NULL), -XEN_ENOSYS);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_close (a closed port: -EINVAL). */
TEST_CASE(close_channel)
{
    REQUIRE(ipi_port != 0);
    CHECK_EQ(xen_evtchn_close(ipi_port), 0);
    CHECK_EQ(xen_evtchn_close(ipi_port), -XEN_EINVAL); /* closed already: not bound */
}

/* Conformance: every EVTCHNOP refuses bad arguments with Xen's errno (xen/common/event_channel.c,
 * 4.19). Port validity is Xen's port_is_valid: port 0 is valid but reserved (status "closed",
 * close/send/bind_vcpu -EINVAL, unmask 0 doing nothing), a closed port of an allocated bucket
 * likewise, a port >= the 2-level limit (4096 here) is -EINVAL everywhere. Another domain: dom0
 * exists, so XSM refuses (-EPERM); a domain id nobody has is -ESRCH. Command line: vcpus=<n>. 64-bit. */
#include "evtchn_setup.h"

#define BEYOND 4096u       /* EVTCHN_2L_NR_CHANNELS for a 64-bit guest */
#define NO_DOMAIN 0x7000u /* below DOMID_FIRST_RESERVED, never created by the tests */
#define XEN_NR_VIRQS 24u

static evtchn_port_t unbound, ipi, timer_port, closed_port;

static long op(int cmd, void* arg) { return hypercall_event_channel_op(cmd, arg); }

/* Xen 4.19: xen/common/event_channel.c, evtchn_alloc_unbound / evtchn_bind_ipi / evtchn_bind_virq
 * / evtchn_close. */
TEST_CASE(setup_one_port_of_each_kind)
{
    REQUIRE(ev_setup(false));
    REQUIRE_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &unbound), 0);
    REQUIRE_EQ(xen_evtchn_bind_ipi(0, &ipi), 0);
    REQUIRE_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port), 0);
    REQUIRE_EQ(xen_evtchn_alloc_unbound(DOMID_SELF, &closed_port), 0);
    REQUIRE_EQ(xen_evtchn_close(closed_port), 0);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_send (free or VIRQ port: -EINVAL; ECS_UNBOUND:
 * dropped, 0). */
TEST_CASE(send_on_a_bad_port_is_einval)
{
    REQUIRE(closed_port != 0);
    CHECK_EQ(xen_evtchn_send(0), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_send(closed_port), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_send(BEYOND), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_send(0xffffffffu), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_send(timer_port), -XEN_EINVAL); /* a VIRQ is Xen's to raise */
    CHECK_EQ(xen_evtchn_send(unbound), 0);               /* nobody listens yet: dropped */
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_close (port_is_valid, ECS_FREE / ECS_RESERVED:
 * -EINVAL). */
TEST_CASE(close_of_a_bad_port_is_einval)
{
    REQUIRE(closed_port != 0);
    CHECK_EQ(xen_evtchn_close(0), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_close(closed_port), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_close(BEYOND), -XEN_EINVAL);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_unmask (port_is_valid only); xen/common/event_2l.c,
 * evtchn_2l_unmask. */
TEST_CASE(unmask_checks_only_the_range)
{
    REQUIRE(closed_port != 0);
    CHECK_EQ(xen_evtchn_unmask(BEYOND), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_unmask(0xffffffffu), -XEN_EINVAL);
    /* Valid but unusable ports: 0 and nothing changes (the mask bit stays). */
    xen_evtchn_mask(0);
    xen_evtchn_mask(closed_port);
    CHECK_EQ(xen_evtchn_unmask(0), 0);
    CHECK_EQ(xen_evtchn_unmask(closed_port), 0);
    CHECK(xen_evtchn_is_masked(0));
    CHECK(xen_evtchn_is_masked(closed_port));
    xen_evtchn_unmask_local(0);
    xen_evtchn_unmask_local(closed_port);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_status (port_is_valid: -EINVAL; ECS_FREE reads
 * EVTCHNSTAT_closed). */
TEST_CASE(status_of_bad_ports)
{
    REQUIRE(closed_port != 0);
    struct evtchn_status st;
    CHECK_EQ(xen_evtchn_status(DOMID_SELF, BEYOND, &st), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_status(DOMID_SELF, 0, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_closed);
    CHECK_EQ(xen_evtchn_status(DOMID_SELF, closed_port, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_closed);
    CHECK_EQ(xen_evtchn_status(DOMID_SELF, unbound, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_unbound);
    CHECK_EQ(st.u.unbound.dom, xen_info.domid); /* DOMID_SELF is stored as the domain's id */
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_vcpu (domain_vcpu: -ENOENT first; IPI and
 * per-vCPU VIRQ: -EINVAL). */
TEST_CASE(bind_vcpu_errors)
{
    REQUIRE(closed_port != 0);
    unsigned n = ev_vcpus();
    CHECK_EQ(xen_evtchn_bind_vcpu(0, 0), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_bind_vcpu(closed_port, 0), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_bind_vcpu(BEYOND, 0), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_bind_vcpu(ipi, 0), -XEN_EINVAL);        /* an IPI stays where it was bound */
    CHECK_EQ(xen_evtchn_bind_vcpu(timer_port, 0), -XEN_EINVAL); /* so does a per-vCPU VIRQ */
    CHECK_EQ(xen_evtchn_bind_vcpu(unbound, n), -XEN_ENOENT);
    CHECK_EQ(xen_evtchn_bind_vcpu(BEYOND, n), -XEN_ENOENT); /* the vCPU is looked at first */
    CHECK_EQ(xen_evtchn_bind_vcpu(unbound, 0xffffffffu), -XEN_ENOENT);
    CHECK_EQ(xen_evtchn_bind_vcpu(unbound, n - 1), 0);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_virq (virq range, virq_is_global, domain_vcpu,
 * already bound: -EEXIST). */
TEST_CASE(bind_virq_errors)
{
    REQUIRE(timer_port != 0);
    unsigned n = ev_vcpus();
    evtchn_port_t p;
    CHECK_EQ(xen_evtchn_bind_virq(XEN_NR_VIRQS, 0, &p), -XEN_EINVAL); /* the legacy-pin range is off */
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_EMUL_PIN_START + VIRQ_EMUL_PIN_NUM, 0, &p), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_bind_virq(0xffffffffu, 0, &p), -XEN_EINVAL);
    /* Global VIRQs go to vCPU 0, whether or not the vCPU asked for exists. */
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_DOM_EXC, 1, &p), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_CON_RING, n, &p), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, 0, &p), -XEN_EEXIST);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_DEBUG, 0, &p), 0);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_DEBUG, 0, &p), -XEN_EEXIST);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_DOM_EXC, 0, &p), 0);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_DOM_EXC, 0, &p), -XEN_EEXIST);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, n, &p), -XEN_ENOENT);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, 0x80000000u, &p), -XEN_ENOENT);
    for (unsigned v = 1; v < n; v++) { /* per-vCPU: once per vCPU */
        CHECK_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, v, &p), 0);
        CHECK_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, v, &p), -XEN_EEXIST);
    }
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_ipi (domain_vcpu: -ENOENT). */
TEST_CASE(bind_ipi_on_a_missing_vcpu_is_enoent)
{
    evtchn_port_t p;
    CHECK_EQ(xen_evtchn_bind_ipi(ev_vcpus(), &p), -XEN_ENOENT);
    CHECK_EQ(xen_evtchn_bind_ipi(SMP_MAX_CPUS * 16, &p), -XEN_ENOENT);
    CHECK_EQ(xen_evtchn_bind_ipi(0xffffffffu, &p), -XEN_ENOENT);
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_interdomain (rcu_lock_domain_by_any_id:
 * -ESRCH; not ECS_UNBOUND or not offered to us: -EINVAL). */
TEST_CASE(bind_interdomain_errors)
{
    REQUIRE(unbound != 0);
    evtchn_port_t p, for_dom0;
    CHECK_EQ(xen_evtchn_bind_interdomain(DOMID_SELF, ipi, &p), -XEN_EINVAL);         /* not unbound */
    CHECK_EQ(xen_evtchn_bind_interdomain(DOMID_SELF, 0, &p), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_bind_interdomain(DOMID_SELF, closed_port, &p), -XEN_EINVAL);
    CHECK_EQ(xen_evtchn_bind_interdomain(DOMID_SELF, BEYOND, &p), -XEN_EINVAL);
    REQUIRE_EQ(xen_evtchn_alloc_unbound(0, &for_dom0), 0);
    CHECK_EQ(xen_evtchn_bind_interdomain(DOMID_SELF, for_dom0, &p), -XEN_EINVAL); /* offered to dom0 */
    CHECK_EQ(xen_evtchn_bind_interdomain(0, 1, &p), -XEN_EINVAL); /* dom0 offers us nothing */
    CHECK_EQ(xen_evtchn_bind_interdomain(NO_DOMAIN, 1, &p), -XEN_ESRCH);
    CHECK_EQ(xen_evtchn_bind_interdomain(DOMID_INVALID, 1, &p), -XEN_ESRCH);
    REQUIRE_EQ(xen_evtchn_bind_interdomain(DOMID_SELF, unbound, &p), 0);
    CHECK_EQ(xen_evtchn_bind_interdomain(DOMID_SELF, unbound, &p), -XEN_EINVAL); /* bound now */
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_alloc_unbound / evtchn_status / evtchn_reset
 * (lookup -ESRCH, then XSM -EPERM). */
TEST_CASE(other_domains_are_eperm_or_esrch)
{
    struct evtchn_alloc_unbound a = {.dom = 0, .remote_dom = DOMID_SELF};
    CHECK_EQ(op(EVTCHNOP_alloc_unbound, &a), -XEN_EPERM);
    a.dom = NO_DOMAIN;
    CHECK_EQ(op(EVTCHNOP_alloc_unbound, &a), -XEN_ESRCH);
    struct evtchn_status st;
    CHECK_EQ(xen_evtchn_status(0, 1, &st), -XEN_EPERM);
    CHECK_EQ(xen_evtchn_status(NO_DOMAIN, 1, &st), -XEN_ESRCH);
    CHECK_EQ(xen_evtchn_reset(0), -XEN_EPERM);
    CHECK_EQ(xen_evtchn_reset(NO_DOMAIN), -XEN_ESRCH);
    /* The remote end of an unbound port is not checked: any domain id may be offered one. */
    evtchn_port_t p;
    CHECK_EQ(xen_evtchn_alloc_unbound(NO_DOMAIN, &p), 0);
    CHECK_EQ(xen_evtchn_status(DOMID_SELF, p, &st), 0);
    CHECK_EQ(st.u.unbound.dom, NO_DOMAIN);
}

/* Xen 4.19: xen/common/event_channel.c, do_event_channel_op (copy_from_guest: -EFAULT). */
TEST_CASE(bad_pointers_are_efault)
{
    static const int ops[] = {EVTCHNOP_alloc_unbound, EVTCHNOP_bind_interdomain, EVTCHNOP_bind_virq,
                              EVTCHNOP_close, EVTCHNOP_send, EVTCHNOP_status, EVTCHNOP_bind_ipi,
                              EVTCHNOP_bind_vcpu, EVTCHNOP_unmask, EVTCHNOP_reset};
    for (unsigned i = 0; i < ARRAY_SIZE(ops); i++) {
        if (!CHECK_EQ(op(ops[i], (void*)CONF_BAD_GPA), -XEN_EFAULT))
            printf("  (EVTCHNOP %d)\n", ops[i]);
        if (!CHECK_EQ(op(ops[i], (void*)CONF_UNMAPPED_VA), -XEN_EFAULT))
            printf("  (EVTCHNOP %d)\n", ops[i]);
    }
}

TEST_CASE(unknown_ops_are_enosys)
{
    CHECK_EQ(op(15, NULL), -XEN_ENOSYS);
    CHECK_EQ(op(99, NULL), -XEN_ENOSYS);
    CHECK_EQ(op(0x7fffffff, NULL), -XEN_ENOSYS);
    /* The 2-level ABI has no priorities: set_priority on a valid port is -ENOSYS. */
    struct {
        uint32_t port, priority;
    } prio = {ipi, 7};
    CHECK_EQ(op(EVTCHNOP_set_priority, &prio), -XEN_ENOSYS);
    /* Xen offers the FIFO ABI (xen/common/event_fifo.c, evtchn_fifo_init_control). */
    TEST_DIFF(no_fifo_abi, "EVTCHNOP_init_control is -ENOSYS: 2-level only (Xen: FIFO offered)");
    struct {
        uint64_t control_gfn;
        uint32_t offset, vcpu;
        uint64_t link_bits;
        uint8_t _pad[8];
    } init = {0, 0, 0, 0, {0}};
    CHECK_EQ(op(EVTCHNOP_init_control, &init), -XEN_ENOSYS);
}

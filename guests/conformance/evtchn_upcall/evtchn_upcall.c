/* Conformance: the ways an upcall reaches an HVM guest, in the order a guest can switch between them
 * (the per-vCPU vector cannot be unset). HVM_PARAM_CALLBACK_IRQ of the vector type: injected on the
 * target vCPU, no LAPIC EOI (so no ISR bit is left to hold back lower vectors). The GSI type: vCPU 0's
 * evtchn_upcall_pending drives that IOAPIC input, level-triggered, through the entry the guest
 * programmed (masked entry: nothing; unmasked again: the level is still there). The per-vCPU
 * HVMOP_set_evtchn_upcall_vector (announced by CPUID leaf 4 XEN_HVM_CPUID_UPCALL_VECTOR) takes over
 * from both. Each way wakes a vCPU halted with sti;hlt and one in SCHEDOP_block.
 * Command line: vcpus=<n>. 64-bit. */
#include "evtchn_setup.h"

#define GSI_VECTOR 0xc8
#define GSI 20
#define LOW_VECTOR 0x50 /* below every upcall vector */

static evtchn_port_t ipi[SMP_MAX_CPUS];
static volatile unsigned long low_seen;
static volatile bool halted[SMP_MAX_CPUS];

static void low_handler(struct trap_frame* f)
{
    (void)f;
    low_seen++;
    lapic_eoi();
}

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (XEN_HVM_CPUID_UPCALL_VECTOR,
 * public/arch-x86/cpuid.h). */
TEST_CASE(cpuid_announces_the_upcall_vector)
{
    CHECK(xen_info.hvm_features & XEN_HVM_CPUID_UPCALL_VECTOR);
    REQUIRE(ev_setup(false)); /* no per-vCPU vector yet */
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        REQUIRE_EQ(xen_evtchn_bind_ipi(v, &ipi[v]), 0);
        evtchn_register(ipi[v], v, NULL, NULL);
    }
    guest_set_irq_handler(LOW_VECTOR, low_handler);
}

/* On the target: one sti;hlt, nothing else that could wake it; reports whether the event came. */
static long halt_once(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    unsigned long before = evtchn_count(ipi[me]);
    halted[me] = true;
    cpu_wait_for_interrupt();
    irq_disable();
    halted[me] = false;
    return evtchn_count(ipi[me]) > before ? 0 : 1;
}

static long block_once(void* arg)
{
    (void)arg;
    unsigned me = smp_cpu_id();
    unsigned long before = evtchn_count(ipi[me]);
    halted[me] = true;
    irq_enable();
    CHECK_EQ(xen_sched_block(), 0);
    irq_disable();
    halted[me] = false;
    return evtchn_count(ipi[me]) > before ? 0 : 1;
}

static bool is_halted(void* arg) { return halted[(uintptr_t)arg]; }
static bool woke(void* arg) { return !halted[(uintptr_t)arg]; }

/* vCPU 0 sends until the target is back (an event sent before it halted is taken at the sti). */
static void wake_other_vcpus(long (*wait)(void*))
{
    for (unsigned v = 1; v < ev_vcpus(); v++) {
        REQUIRE_EQ(smp_start_cpu(v, wait, NULL), 0);
        CHECK(cpu_wait_until(is_halted, (void*)(uintptr_t)v, EV_WAIT_US));
        for (unsigned i = 0; i < 1000 && halted[v]; i++) {
            CHECK_EQ(xen_evtchn_send(ipi[v]), 0);
            cpu_wait_until(woke, (void*)(uintptr_t)v, 2000);
        }
        if (halted[v])
            lapic_send_ipi(v, SMP_WAKE_VECTOR); /* not woken by the event: fail, not hang */
        CHECK_EQ(smp_wait(v, EV_WAIT_US), 0);
    }
}

/* An event to vCPU v arrives there through `vector`. */
static void deliver_to(unsigned v, uint8_t vector)
{
    unsigned long count = evtchn_count(ipi[v]), irqs = guest_irq_count(vector);
    CHECK_EQ(xen_evtchn_send(ipi[v]), 0);
    CHECK(ev_wait_count(ipi[v], count + 1, EV_WAIT_US));
    CHECK_EQ(evtchn_last_cpu(ipi[v]), v);
    CHECK(guest_irq_count(vector) > irqs);
}

static void deliver_everywhere(uint8_t vector)
{
    for (unsigned v = 0; v < ev_vcpus(); v++)
        deliver_to(v, vector);
}

static long drain(void* arg)
{
    (void)arg;
    evtchn_do_upcall();
    return 0;
}

/* Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_assert_evtchn_irq (HVMIRQ_callback_vector: vlapic_set_irq,
 * no EOI needed). */
TEST_CASE(callback_vector_reaches_every_vcpu_without_eoi)
{
    REQUIRE(ipi[0] != 0);
    REQUIRE_EQ(evtchn_use_callback_vector(EV_CALLBACK_VECTOR), 0);
    deliver_everywhere(EV_CALLBACK_VECTOR);
    /* Had it gone through the LAPIC unacknowledged, its ISR bit would block this one. */
    low_seen = 0;
    lapic_send_self_ipi(LOW_VECTOR);
    ev_quiet(1000);
    CHECK_EQ(low_seen, 1);
}

/* Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_assert_evtchn_irq; xen/common/sched/core.c, vcpu_unblock. */
TEST_CASE(callback_vector_wakes_halted_and_blocked_vcpus)
{
    if (ev_vcpus() < 2)
        TEST_SKIP("needs 2 vCPUs");
    REQUIRE(ipi[0] != 0);
    wake_other_vcpus(halt_once);
    wake_other_vcpus(block_once);
}

/* Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_set_callback_via / hvm_assert_evtchn_irq
 * (HVMIRQ_callback_gsi). */
TEST_CASE(gsi_callback_goes_through_the_ioapic_entry)
{
    REQUIRE(ipi[0] != 0);
    REQUIRE(GSI < ioapic_pins());
    ioapic_mask(GSI);
    REQUIRE_EQ(evtchn_use_gsi(GSI, GSI_VECTOR), 0);
    ioapic_mask(GSI); /* first masked: the event must wait at the IOAPIC */
    unsigned long irqs = guest_irq_count(GSI_VECTOR), cb = guest_irq_count(EV_CALLBACK_VECTOR);
    unsigned long count = evtchn_count(ipi[0]);
    CHECK_EQ(xen_evtchn_send(ipi[0]), 0);
    ev_quiet(EV_QUIET_US);
    CHECK_EQ(guest_irq_count(GSI_VECTOR), irqs);
    CHECK_EQ(evtchn_count(ipi[0]), count);
    ioapic_route(GSI, GSI_VECTOR, 0, true); /* unmasked: the line is still up */
    CHECK(ev_wait_count(ipi[0], count + 1, EV_WAIT_US));
    CHECK(guest_irq_count(GSI_VECTOR) > irqs);
    deliver_to(0, GSI_VECTOR);
    CHECK_EQ(guest_irq_count(EV_CALLBACK_VECTOR), cb); /* the GSI replaced the vector */
    /* Xen lowers the line on the vmexit of the EOI, before it looks at the IOAPIC entry again
     * (hvm_maybe_deassert_evtchn_irq in vmx_vmexit_handler): no interrupt follows the last one. */
    irqs = guest_irq_count(GSI_VECTOR);
    ev_quiet(EV_QUIET_US);
    unsigned long extra = guest_irq_count(GSI_VECTOR) - irqs;
    if (!CHECK(extra <= 1))
        printf("  (%lu GSI interrupts with nothing pending, in %u us)\n", extra, EV_QUIET_US);
}

/* Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_assert_evtchn_irq (the GSI is asserted for vCPU 0's events
 * only). */
TEST_CASE(gsi_callback_is_vcpu0s_only)
{
    REQUIRE(ipi[0] != 0);
    ioapic_mask(GSI);
    ev_quiet(EV_QUIET_US); /* whatever the IOAPIC sent before the mask is taken now */
    unsigned long counts[SMP_MAX_CPUS];
    for (unsigned v = 0; v < ev_vcpus(); v++) { /* left pending for the next case */
        counts[v] = evtchn_count(ipi[v]);
        CHECK_EQ(xen_evtchn_send(ipi[v]), 0);
    }
    ev_quiet(EV_QUIET_US);
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        CHECK_EQ(evtchn_count(ipi[v]), counts[v]);
        CHECK_EQ(evtchn_vcpu_info(v)->evtchn_upcall_pending, 1);
    }
}

/* Xen 4.19: xen/arch/x86/hvm/hvm.c, hvmop_set_evtchn_upcall_vector (vector < 0x10: -EINVAL;
 * domain_vcpu: -ENOENT); xen/arch/x86/hvm/irq.c, hvm_assert_evtchn_irq. */
TEST_CASE(percpu_vector_takes_priority)
{
    REQUIRE(ipi[0] != 0);
    REQUIRE_EQ(evtchn_use_callback_vector(EV_CALLBACK_VECTOR), 0);
    unsigned long cb = guest_irq_count(EV_CALLBACK_VECTOR), gsi = guest_irq_count(GSI_VECTOR);
    unsigned long counts[SMP_MAX_CPUS];
    for (unsigned v = 0; v < ev_vcpus(); v++)
        counts[v] = evtchn_count(ipi[v]);
    /* Xen raises the vector when it is set (hvm_assert_evtchn_irq): what is pending comes now. */
    for (unsigned v = 0; v < ev_vcpus(); v++) {
        REQUIRE_EQ(evtchn_use_percpu_vector(v, EV_UPCALL_VECTOR), 0);
        if (!CHECK(ev_wait_count(ipi[v], counts[v] + 1, 200000)))
            smp_run_on(v, drain, NULL, EV_WAIT_US); /* so the cases after this one can run */
    }
    deliver_everywhere(EV_UPCALL_VECTOR);
    CHECK_EQ(guest_irq_count(EV_CALLBACK_VECTOR), cb);
    CHECK_EQ(guest_irq_count(GSI_VECTOR), gsi);
    struct xen_hvm_evtchn_upcall_vector bad = {.vcpu = 0, .vector = 0x0f};
    CHECK_EQ(hypercall_hvm_op(HVMOP_set_evtchn_upcall_vector, &bad), -XEN_EINVAL);
    bad.vcpu = ev_vcpus();
    bad.vector = EV_UPCALL_VECTOR;
    CHECK_EQ(hypercall_hvm_op(HVMOP_set_evtchn_upcall_vector, &bad), -XEN_ENOENT);
}

/* Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_assert_evtchn_irq (vlapic_set_irq on the per-vCPU vector). */
TEST_CASE(percpu_vector_wakes_halted_and_blocked_vcpus)
{
    if (ev_vcpus() < 2)
        TEST_SKIP("needs 2 vCPUs");
    REQUIRE(ipi[0] != 0);
    wake_other_vcpus(halt_once);
    wake_other_vcpus(block_once);
}

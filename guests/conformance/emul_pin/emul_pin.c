/* Conformance: legacy ISA pins as VIRQs (the design thread "PV extension of HVM", issue 3 item 5;
 * upstream Xen never took it, so it is opt-in). CPUID leaf 0x40000002 EDX: bit 0 PV extension
 * framework, bit 1 PV clocksource, bit 2 PV event channel, which is ignored unless bit 1 is set.
 * With the evtchn bit, binding VIRQ_EMUL_PIN_START + n (a global VIRQ) moves ISA pin n to that event
 * channel: the UART (pin 4, THR-empty interrupt) and the PIT (pin 0, channel 0 as a rate generator)
 * then raise events and nothing reaches the IOAPIC, whose entries are programmed and unmasked to see
 * that. Without it the pin VIRQs do not exist (-EINVAL) and the interrupts come through the IOAPIC:
 * the UART at GSI 4, the PIT at GSI 2 (Xen's hvm_isa_irq_to_gsi maps ISA IRQ 0 to GSI 2).
 * Command line: mode=evtchn|ioapic edx=<expected leaf 2 EDX>. 64-bit. */
#include "evtchn_setup.h"

#define UART 0x3f8
#define UART_PIN 4
#define PIT_PIN 0
#define UART_VECTOR 0x64
#define PIT_VECTOR 0x62   /* GSI 2 */
#define PIT0_VECTOR 0x60  /* GSI 0: where ISA IRQ 0 does not go */
#define PIT_HZ 1000

static bool evtchn_mode(void) { return strcmp(conf_arg("mode"), "evtchn") == 0; }
static evtchn_port_t uart_port, pit_port;

static void uart_ack(void) { (void)inb(UART + 2); } /* reading IIR clears a THR-empty interrupt */
static void uart_irq(struct trap_frame* f)
{
    (void)f;
    uart_ack();
    lapic_eoi();
}
static void uart_event(evtchn_port_t port, void* arg)
{
    (void)port;
    (void)arg;
    uart_ack();
}
static void pit_irq(struct trap_frame* f)
{
    (void)f;
    lapic_eoi();
}

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (leaf 2 EDX is 0); the bits offered with edx= are the
 * design thread's: DIFF emul_pin_virqs. */
TEST_CASE(cpuid_leaf2_edx_bits)
{
    REQUIRE(xen_info.cpuid_max_leaf >= xen_info.cpuid_base + 2);
    if (conf_arg_ulong("edx", 0) != 0)
        TEST_DIFF(emul_pin_virqs, "CPUID leaf 2 EDX offers the PV extension bits (Xen: 0)");
    CHECK_EQ(cpuid(xen_info.cpuid_base + 2, 0).edx, conf_arg_ulong("edx", 0));
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_virq (virq >= NR_VIRQS: -EINVAL without the
 * bit, as on Xen 4.19). */
TEST_CASE(pin_virqs_exist_only_with_the_evtchn_bit)
{
    REQUIRE(ev_setup(true));
    evtchn_port_t p;
    if (!evtchn_mode()) {
        CHECK_EQ(xen_evtchn_bind_virq(VIRQ_EMUL_PIN_START + UART_PIN, 0, &p), -XEN_EINVAL);
        CHECK_EQ(xen_evtchn_bind_virq(VIRQ_EMUL_PIN_START + PIT_PIN, 0, &p), -XEN_EINVAL);
        return;
    }
    TEST_DIFF(emul_pin_virqs, "VIRQs %u.. bind the ISA pins (Xen: -EINVAL past NR_VIRQS)", VIRQ_EMUL_PIN_START);
    REQUIRE_EQ(xen_evtchn_bind_virq(VIRQ_EMUL_PIN_START + UART_PIN, 0, &uart_port), 0);
    REQUIRE_EQ(xen_evtchn_bind_virq(VIRQ_EMUL_PIN_START + PIT_PIN, 0, &pit_port), 0);
    struct evtchn_status st;
    CHECK_EQ(xen_evtchn_status(DOMID_SELF, uart_port, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_virq);
    CHECK_EQ(st.u.virq, VIRQ_EMUL_PIN_START + UART_PIN);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_EMUL_PIN_START + UART_PIN, 0, &p), -XEN_EEXIST);
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_EMUL_PIN_START + UART_PIN, 1, &p), -XEN_EINVAL); /* global */
    CHECK_EQ(xen_evtchn_bind_virq(VIRQ_EMUL_PIN_START + VIRQ_EMUL_PIN_NUM, 0, &p), -XEN_EINVAL);
    evtchn_register(uart_port, 0, uart_event, NULL);
    evtchn_register(pit_port, 0, NULL, NULL);
}

/* Xen 4.19: xen/arch/x86/hvm/vioapic.c (the IOAPIC delivers; with the bit: DIFF emul_pin_virqs). */
TEST_CASE(uart_interrupts_take_one_path)
{
    REQUIRE(xen_shared_info() != NULL);
    guest_set_irq_handler(UART_VECTOR, uart_irq);
    ioapic_route(UART_PIN, UART_VECTOR, 0, false); /* ISA: edge, active high */
    outb(UART + 3, 0x03);                           /* 8N1 */
    unsigned long irqs = guest_irq_count(UART_VECTOR), events = evtchn_count(uart_port);
    outb(UART + 1, 0x02); /* THR-empty interrupt on: the THR is empty */
    ev_quiet(EV_QUIET_US);
    outb(UART, '\n'); /* and empty again once this is sent */
    ev_quiet(EV_QUIET_US);
    outb(UART + 1, 0x00);
    unsigned long got_irqs = guest_irq_count(UART_VECTOR) - irqs, got_events = evtchn_count(uart_port) - events;
    if (evtchn_mode()) {
        TEST_DIFF(emul_pin_virqs, "the UART's pin raises an event channel (Xen: the IOAPIC)");
        CHECK(got_events >= 2);
        CHECK_EQ(got_irqs, 0);
    } else {
        CHECK(got_irqs >= 2);
        CHECK_EQ(got_events, 0);
    }
    ioapic_mask(UART_PIN);
}

static bool pit_ticked(void* arg)
{
    (void)arg;
    return evtchn_mode() ? evtchn_count(pit_port) >= 5 : guest_irq_count(PIT_VECTOR) >= 5;
}

/* Xen 4.19: xen/arch/x86/hvm/irq.c, hvm_isa_irq_to_gsi (ISA IRQ 0 is GSI 2); with the bit: DIFF
 * emul_pin_virqs. */
TEST_CASE(pit_interrupts_take_one_path)
{
    REQUIRE(xen_shared_info() != NULL);
    guest_set_irq_handler(PIT_VECTOR, pit_irq);
    guest_set_irq_handler(PIT0_VECTOR, pit_irq);
    ioapic_route(2, PIT_VECTOR, 0, false);
    ioapic_route(0, PIT0_VECTOR, 0, false);
    uint16_t count = (uint16_t)((1193182 + PIT_HZ / 2) / PIT_HZ);
    outb(0x43, 0x34); /* channel 0, LSB then MSB, mode 2 (rate generator), binary */
    outb(0x40, (uint8_t)count);
    outb(0x40, (uint8_t)(count >> 8));
    CHECK(cpu_wait_until(pit_ticked, NULL, EV_WAIT_US));
    outb(0x43, 0x30); /* mode 0 with the longest count: one last edge, ~55 ms from now */
    outb(0x40, 0xff);
    outb(0x40, 0xff);
    unsigned long events = evtchn_count(pit_port), gsi2 = guest_irq_count(PIT_VECTOR);
    unsigned long gsi0 = guest_irq_count(PIT0_VECTOR);
    if (evtchn_mode()) {
        TEST_DIFF(emul_pin_virqs, "the PIT's pin raises an event channel (Xen: the IOAPIC)");
        CHECK(events >= 5);
        CHECK_EQ(gsi2 + gsi0, 0);
    } else {
        CHECK(gsi2 >= 5);
        CHECK_EQ(events, 0);
        if (!CHECK_EQ(gsi0, 0))
            printf("  (the PIT came on GSI 0; Xen routes ISA IRQ 0 to GSI 2)\n");
    }
}

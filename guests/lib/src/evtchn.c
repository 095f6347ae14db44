/* Event channel upcalls: the 2-level scan a Xen guest must do, per-port dispatch, and the EVTCHNOPs
 * guest/xen.h does not already wrap. Runs at CPL0 (in KVM's emulator here): kept short. */
#include "guest/evtchn.h"

#include "guest/guest.h"

struct port_entry {
    evtchn_handler_t fn;
    void* arg;
    volatile unsigned long count;
    volatile uint8_t last_cpu;
    uint8_t cpu;
};

static struct port_entry ports[EVTCHN_2L_NR_CHANNELS];
/* Per CPU, the ports it takes: the guest's view of each port's notify vCPU. */
static xen_ulong_t mine[SMP_MAX_CPUS][EVTCHN_WORDS];

static unsigned long lowest_bit(xen_ulong_t w)
{
    unsigned long b;
    __asm__("bsf %1, %0" : "=r"(b) : "rm"((unsigned long)w) : "cc"); /* no tzcnt: the emulator runs bsf */
    return b;
}

int evtchn_init(void)
{
    struct shared_info* s = xen_shared_info();
    if (!s)
        return -XEN_ENODEV;
    for (unsigned i = 0; i < SMP_MAX_CPUS && i < XEN_LEGACY_MAX_VCPUS; i++)
        if (!smp_cpu(i)->vcpu_info)
            smp_cpu(i)->vcpu_info = &s->vcpu_info[i];
    return 0;
}

struct vcpu_info* evtchn_vcpu_info(unsigned cpu)
{
    struct cpu_local* c = smp_cpu(cpu);
    if (c && c->vcpu_info)
        return c->vcpu_info;
    struct shared_info* s = xen_shared_info();
    return s && cpu < XEN_LEGACY_MAX_VCPUS ? &s->vcpu_info[cpu] : NULL;
}

void evtchn_register(evtchn_port_t port, unsigned cpu, evtchn_handler_t fn, void* arg)
{
    if (port >= EVTCHN_2L_NR_CHANNELS || cpu >= SMP_MAX_CPUS)
        return;
    unsigned long flags = irq_save();
    evtchn_unregister(port);
    ports[port].fn = fn;
    ports[port].arg = arg;
    ports[port].cpu = (uint8_t)cpu;
    xen_ulong_t bit = (xen_ulong_t)1 << (port % EVTCHN_WORD_BITS);
    __atomic_fetch_or(&mine[cpu][port / EVTCHN_WORD_BITS], bit, __ATOMIC_SEQ_CST);
    irq_restore(flags);
}

void evtchn_unregister(evtchn_port_t port)
{
    if (port >= EVTCHN_2L_NR_CHANNELS)
        return;
    xen_ulong_t bit = (xen_ulong_t)1 << (port % EVTCHN_WORD_BITS);
    for (unsigned c = 0; c < SMP_MAX_CPUS; c++)
        __atomic_fetch_and(&mine[c][port / EVTCHN_WORD_BITS], ~bit, __ATOMIC_SEQ_CST);
}

unsigned long evtchn_count(evtchn_port_t port) { return port < EVTCHN_2L_NR_CHANNELS ? ports[port].count : 0; }
unsigned evtchn_last_cpu(evtchn_port_t port) { return port < EVTCHN_2L_NR_CHANNELS ? ports[port].last_cpu : 0; }
void evtchn_reset_count(evtchn_port_t port)
{
    if (port < EVTCHN_2L_NR_CHANNELS)
        ports[port].count = 0;
}

void evtchn_do_upcall(void)
{
    struct cpu_local* c = this_cpu();
    struct vcpu_info* vi = c->vcpu_info ? c->vcpu_info : evtchn_vcpu_info((unsigned)c->id);
    struct shared_info* s = xen_shared_info();
    const xen_ulong_t* my = mine[c->id];
    c->upcalls++;
    do {
        WRITE_ONCE(vi->evtchn_upcall_pending, 0);
        xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        while (sel) {
            unsigned long w = lowest_bit(sel);
            sel &= sel - 1;
            for (;;) {
                xen_ulong_t bits = READ_ONCE(s->evtchn_pending[w]) & ~READ_ONCE(s->evtchn_mask[w]) & READ_ONCE(my[w]);
                if (!bits)
                    break;
                evtchn_port_t port = (evtchn_port_t)(w * EVTCHN_WORD_BITS + lowest_bit(bits));
                if (!xen_evtchn_test_and_clear_pending(port))
                    continue;
                struct port_entry* e = &ports[port];
                e->last_cpu = (uint8_t)c->id;
                __atomic_fetch_add(&e->count, 1, __ATOMIC_SEQ_CST);
                if (e->fn)
                    e->fn(port, e->arg);
            }
        }
    } while (READ_ONCE(vi->evtchn_upcall_pending));
}

static void upcall_no_eoi(struct trap_frame* f)
{
    (void)f;
    evtchn_do_upcall();
}

/* LAPIC-delivered edge vector: EOI first, so an event raised during the scan raises it again. */
static void upcall_eoi_first(struct trap_frame* f)
{
    (void)f;
    lapic_eoi();
    evtchn_do_upcall();
}

/* Level-triggered GSI: the line follows vCPU 0's evtchn_upcall_pending, so EOI once it is clear. */
static void upcall_eoi_last(struct trap_frame* f)
{
    (void)f;
    evtchn_do_upcall();
    lapic_eoi();
}

void evtchn_install_handler(uint8_t vector, bool eoi)
{
    guest_set_irq_handler(vector, eoi ? upcall_eoi_first : upcall_no_eoi);
}

int evtchn_use_callback_vector(uint8_t vector)
{
    evtchn_install_handler(vector, false);
    return xen_set_callback_vector(vector);
}

int evtchn_use_percpu_vector(unsigned cpu, uint8_t vector)
{
    evtchn_install_handler(vector, true);
    return xen_set_upcall_vector(cpu, vector);
}

int evtchn_use_gsi(uint32_t gsi, uint8_t vector)
{
    guest_set_irq_handler(vector, upcall_eoi_last);
    ioapic_route(gsi, vector, 0, true);
    return xen_set_param(HVM_PARAM_CALLBACK_IRQ,
                         ((uint64_t)HVM_PARAM_CALLBACK_TYPE_GSI << HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT) | gsi);
}

int xen_register_vcpu_info(unsigned cpu, void* at)
{
    uintptr_t a = (uintptr_t)at;
    struct vcpu_register_vcpu_info r = {.mfn = a >> PAGE_SHIFT, .offset = (uint32_t)(a & (PAGE_SIZE - 1))};
    long rc = hypercall_vcpu_op(VCPUOP_register_vcpu_info, cpu, &r);
    if (rc == 0 && smp_cpu(cpu))
        smp_cpu(cpu)->vcpu_info = at;
    return (int)rc;
}

int xen_evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t* port)
{
    struct evtchn_bind_ipi b = {.vcpu = vcpu};
    long rc = hypercall_event_channel_op(EVTCHNOP_bind_ipi, &b);
    if (rc == 0)
        *port = b.port;
    return (int)rc;
}

int xen_evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port, evtchn_port_t* local)
{
    struct evtchn_bind_interdomain b = {.remote_dom = remote_dom, .remote_port = remote_port};
    long rc = hypercall_event_channel_op(EVTCHNOP_bind_interdomain, &b);
    if (rc == 0)
        *local = b.local_port;
    return (int)rc;
}

int xen_evtchn_status(domid_t dom, evtchn_port_t port, struct evtchn_status* out)
{
    memset(out, 0, sizeof(*out));
    out->dom = dom;
    out->port = port;
    return (int)hypercall_event_channel_op(EVTCHNOP_status, out);
}

int xen_evtchn_bind_vcpu(evtchn_port_t port, uint32_t vcpu)
{
    struct evtchn_bind_vcpu b = {.port = port, .vcpu = vcpu};
    return (int)hypercall_event_channel_op(EVTCHNOP_bind_vcpu, &b);
}

int xen_evtchn_reset(domid_t dom)
{
    struct evtchn_reset r = {.dom = dom};
    return (int)hypercall_event_channel_op(EVTCHNOP_reset, &r);
}

bool xen_evtchn_is_masked(evtchn_port_t port)
{
    struct shared_info* s = xen_shared_info();
    if (!s || port >= EVTCHN_2L_NR_CHANNELS)
        return true;
    return (READ_ONCE(s->evtchn_mask[port / EVTCHN_WORD_BITS]) >> (port % EVTCHN_WORD_BITS)) & 1;
}

void xen_evtchn_unmask_local(evtchn_port_t port)
{
    struct shared_info* s = xen_shared_info();
    if (!s || port >= EVTCHN_2L_NR_CHANNELS)
        return;
    xen_ulong_t bit = (xen_ulong_t)1 << (port % EVTCHN_WORD_BITS);
    __atomic_fetch_and(&s->evtchn_mask[port / EVTCHN_WORD_BITS], ~bit, __ATOMIC_SEQ_CST);
}

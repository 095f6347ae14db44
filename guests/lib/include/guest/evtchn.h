/* Event channels as a Xen HVM guest receives them: the upcall handler and per-port dispatch, and
 * a wrapper for every EVTCHNOP (plus the ones in guest/xen.h).
 *
 * Delivery paths (any mix; the per-vCPU vector wins on Xen where both are set):
 *   evtchn_use_callback_vector(v)   HVM_PARAM_CALLBACK_IRQ, vector type: injected, no EOI
 *   evtchn_use_percpu_vector(cpu,v) HVMOP_set_evtchn_upcall_vector: through the LAPIC, handler EOIs
 *   evtchn_use_gsi(gsi, v)          HVM_PARAM_CALLBACK_IRQ, GSI type: the IOAPIC entry of gsi is
 *                                   programmed (level, to CPU 0) and the handler EOIs
 * The handler does what a Xen guest must: clear evtchn_upcall_pending, xchg the selector to 0, then
 * per selected word take pending & ~mask, limited to the ports this CPU registered (as Linux does,
 * so a CPU never takes another vCPU's event), clear each pending bit and call the port's handler.
 * It repeats while evtchn_upcall_pending was set again meanwhile. */
#pragma once
#include "guest/base.h"
#include "guest/xen.h"

typedef void (*evtchn_handler_t)(evtchn_port_t port, void* arg);

#define EVTCHN_WORD_BITS (sizeof(xen_ulong_t) * 8)
#define EVTCHN_WORDS EVTCHN_WORD_BITS /* 2-level: one selector bit per pending word */

/* Maps shared_info (the library's page) and points every CPU at its vcpu_info there. 0 or -errno. */
int evtchn_init(void);

int evtchn_use_callback_vector(uint8_t vector);
int evtchn_use_percpu_vector(unsigned cpu, uint8_t vector);
int evtchn_use_gsi(uint32_t gsi, uint8_t vector);
/* Installs the upcall handler on a vector without telling Xen (for tests that set the param). */
void evtchn_install_handler(uint8_t vector, bool eoi);

/* Which CPU handles a port and what runs: fn may be NULL (the event is only counted). A port that
 * is not registered is left pending for whoever looks. */
void evtchn_register(evtchn_port_t port, unsigned cpu, evtchn_handler_t fn, void* arg);
void evtchn_unregister(evtchn_port_t port);
/* Deliveries of a port so far, and the CPU of the last one. */
unsigned long evtchn_count(evtchn_port_t port);
unsigned evtchn_last_cpu(evtchn_port_t port);
void evtchn_reset_count(evtchn_port_t port);

/* The vcpu_info a CPU's upcall reads (shared_info's for CPUs < 32 unless registered elsewhere). */
struct vcpu_info* evtchn_vcpu_info(unsigned cpu);
/* VCPUOP_register_vcpu_info for `cpu`, with the record at `at`; on success the CPU reads it there. */
int xen_register_vcpu_info(unsigned cpu, void* at);

/* The upcall handler's body, callable directly (with interrupts off) to drain what is pending. */
void evtchn_do_upcall(void);

/* Remaining EVTCHNOPs: 0 or -errno; outputs through pointers. */
int xen_evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t* port);
int xen_evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port, evtchn_port_t* local);
int xen_evtchn_status(domid_t dom, evtchn_port_t port, struct evtchn_status* out);
int xen_evtchn_bind_vcpu(evtchn_port_t port, uint32_t vcpu);
int xen_evtchn_reset(domid_t dom);

/* Bit helpers on this guest's layout (the shared_info must be mapped). */
bool xen_evtchn_is_masked(evtchn_port_t port);
void xen_evtchn_unmask_local(evtchn_port_t port); /* clears the mask bit only (no hypercall) */

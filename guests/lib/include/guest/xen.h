/* Finding Xen, the hypercall page, and helpers over the common hypercalls. */
#pragma once
#include "guest/base.h"
#include "guest/hypercall.h"
#include "xen/abi/cpuid.h"
#include "xen/abi/errno.h"
#include "xen/abi/event_channel.h"
#include "xen/abi/hvm.h"
#include "xen/abi/memory.h"
#include "xen/abi/sched.h"
#include "xen/abi/vcpu.h"
#include "xen/abi/version.h"

struct xen_info {
    bool present;              /* "XenVMMXenVMM" found */
    bool hypercalls_ready;     /* the hypercall page was filled */
    uint32_t cpuid_base;       /* 0x40000000 + n*0x100 */
    uint32_t cpuid_max_leaf;   /* eax of the base leaf */
    uint32_t cpuid_version;    /* eax of leaf base+1: major << 16 | minor */
    uint32_t hypercall_pages;  /* eax of leaf base+2 */
    uint32_t hypercall_msr;    /* ebx of leaf base+2 */
    uint32_t hvm_features;     /* eax of leaf base+4 (0 if absent) */
    uint32_t vcpu_id;          /* ebx of leaf base+4 when XEN_HVM_CPUID_VCPU_ID_PRESENT */
    uint32_t domid;            /* ecx of leaf base+4 when XEN_HVM_CPUID_DOMID_PRESENT */
};
extern struct xen_info xen_info;

/* Scans CPUID 0x40000000..0x4000ff00 in 0x100 steps; fills xen_info. Returns xen_info.present. */
bool xen_detect(void);
/* Writes the hypercall page's address to the hypercall MSR and checks the page was filled.
 * Returns 0, or -XEN_ENODEV (no Xen) / -XEN_EIO (page not filled). The boot code does this unless
 * GUEST_CONFIG(.no_auto_hypercall_page = true). */
int xen_setup_hypercall_page(void);
static inline bool xen_present(void) { return xen_info.present; }
static inline bool xen_hypercalls_ready(void) { return xen_info.hypercalls_ready; }

/* "ENOSYS" for -38 etc. ("E?" when unknown). */
const char* xen_strerror(long err);

/* Helpers: each returns 0 (or a non-negative result) or a negative Xen errno. */
int xen_get_param(uint32_t index, uint64_t* value);
int xen_set_param(uint32_t index, uint64_t value);
int xen_evtchn_send(evtchn_port_t port);
int xen_evtchn_unmask(evtchn_port_t port);
int xen_evtchn_close(evtchn_port_t port);
int xen_evtchn_alloc_unbound(domid_t remote, evtchn_port_t* port);
int xen_evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t* port);
int xen_shutdown(unsigned reason);
int xen_yield(void);
/* HVM_PARAM_CALLBACK_IRQ = vector delivery (no EOI needed). */
int xen_set_callback_vector(uint8_t vector);
/* HVMOP_set_evtchn_upcall_vector (per vCPU; delivered through the LAPIC, needs lapic_eoi()). */
int xen_set_upcall_vector(uint32_t vcpu, uint8_t vector);

/* Maps shared_info at guest-physical gpa (page aligned) with XENMEM_add_to_physmap. */
int xen_map_shared_info(uint64_t gpa);
/* The mapped shared_info: maps it on first use at a page reserved inside the image. NULL on failure. */
struct shared_info* xen_shared_info(void);

/* Event channel bits in shared_info (2-level ABI). xen_shared_info() must succeed first. */
bool xen_evtchn_test_and_clear_pending(evtchn_port_t port);
bool xen_evtchn_is_pending(evtchn_port_t port);
void xen_evtchn_mask(evtchn_port_t port);

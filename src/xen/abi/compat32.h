/* Layouts a 32-bit guest uses where they differ from the 64-bit ones (the VMM is always 64-bit). */
#pragma once
#include <stdint.h>

#include "xen/abi/xen.h"

struct vcpu_info_compat32 {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint8_t pad[2];
    uint32_t evtchn_pending_sel;
    uint32_t cr2;
    uint32_t arch_pad[5];
    struct vcpu_time_info time;
};

struct shared_info_compat32 {
    struct vcpu_info_compat32 vcpu_info[XEN_LEGACY_MAX_VCPUS];
    uint32_t evtchn_pending[32];
    uint32_t evtchn_mask[32];
    uint32_t wc_version;
    uint32_t wc_sec;
    uint32_t wc_nsec;
    uint32_t max_pfn;
    uint32_t pfn_to_mfn_frame_list_list;
    uint32_t nmi_reason;
    uint32_t p2m_cr3;
    uint32_t p2m_vaddr;
    uint32_t p2m_generation;
    uint32_t wc_sec_hi;
};

struct xen_add_to_physmap_compat32 {
    domid_t domid;
    uint16_t size;
    uint32_t space;
    uint32_t idx;
    uint32_t gpfn;
};

struct xen_add_to_physmap_batch_compat32 {
    domid_t domid;
    uint16_t space;
    uint16_t size;
    domid_t foreign_domid;
    uint32_t idxs;
    uint32_t gpfns;
    uint32_t errs;
};

struct xen_remove_from_physmap_compat32 {
    domid_t domid;
    uint32_t gpfn;
};

struct xen_memory_reservation_compat32 {
    uint32_t extent_start; /* array of 32-bit frame numbers */
    uint32_t nr_extents;
    uint32_t extent_order;
    uint32_t mem_flags;
    domid_t domid;
};

struct xen_memory_map_compat32 {
    uint32_t nr_entries;
    uint32_t buffer;
};

struct sched_poll_compat32 {
    uint32_t ports;
    uint32_t nr_ports;
    uint64_t timeout;
} __attribute__((packed, aligned(4)));

struct xen_platform_parameters_compat32 {
    uint32_t virt_start;
};

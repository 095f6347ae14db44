/* memory_op sub-ops and arguments. */
#pragma once
#include "xen/abi/xen.h"

#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_maximum_ram_page 2
#define XENMEM_current_reservation 3 /* arg: domid_t*; returns pages */
#define XENMEM_maximum_reservation 4 /* arg: domid_t*; returns pages */
#define XENMEM_machphys_mfn_list 5
#define XENMEM_populate_physmap 6
#define XENMEM_add_to_physmap 7
#define XENMEM_memory_map 9
#define XENMEM_machine_memory_map 10
#define XENMEM_set_memory_map 13
#define XENMEM_maximum_gpfn 14
#define XENMEM_remove_from_physmap 15
#define XENMEM_add_to_physmap_batch 23
#define XENMEM_get_vnumainfo 26
#define XENMEM_reserved_device_memory_map 27

#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1
#define XENMAPSPACE_gmfn 2
#define XENMAPSPACE_gmfn_range 3
#define XENMAPSPACE_gmfn_foreign 4
#define XENMAPSPACE_dev_mmio 5

/* mem_flags of xen_memory_reservation */
#define XENMEMF_populate_on_demand (1 << 16)

struct xen_memory_reservation {
    xen_pfn_t* extent_start;  /* XEN_GUEST_HANDLE(xen_pfn_t): the extents' base frames */
    xen_ulong_t nr_extents;
    unsigned int extent_order;
    unsigned int mem_flags;   /* address bits, NUMA node, XENMEMF_* */
    domid_t domid;
};

struct xen_add_to_physmap {
    domid_t domid;
    uint16_t size;      /* gmfn_range only */
    unsigned int space; /* XENMAPSPACE_* */
    xen_ulong_t idx;
    xen_pfn_t gpfn;     /* where to map it */
};

/* XENMEM_add_to_physmap_batch: `size` frames of one space; each frame's result goes to errs[i]. */
struct xen_add_to_physmap_batch {
    domid_t domid;
    uint16_t space;  /* XENMAPSPACE_*, not gmfn_range */
    uint16_t size;
    domid_t foreign_domid; /* gmfn_foreign only */
    xen_ulong_t* idxs;
    xen_pfn_t* gpfns;
    int* errs;
};

struct xen_remove_from_physmap {
    domid_t domid;
    xen_pfn_t gpfn;
};

struct xen_memory_map {
    unsigned int nr_entries; /* IN: room in buffer; OUT: entries written */
    void* buffer;            /* array of struct xen_e820_entry */
};

struct xen_e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

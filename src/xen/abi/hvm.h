/* hvm_op sub-ops, HVM params, and the PVH start info. */
#pragma once
#include "xen/abi/xen.h"

#define HVMOP_set_param 0
#define HVMOP_get_param 1
#define HVMOP_set_pci_intx_level 2
#define HVMOP_set_isa_irq_level 3
#define HVMOP_set_pci_link_route 4
#define HVMOP_pagetable_dying 9
#define HVMOP_get_time 10
#define HVMOP_xentrace 11
#define HVMOP_get_mem_type 15
#define HVMOP_set_evtchn_upcall_vector 23
#define HVMOP_guest_request_vm_event 24
#define HVMOP_altp2m 25

struct xen_hvm_param {
    domid_t domid;  /* DOMID_SELF for the caller */
    uint32_t index; /* HVM_PARAM_* */
    uint64_t value;
};

struct xen_hvm_get_time {
    uint64_t now;
};

struct xen_hvm_evtchn_upcall_vector {
    uint32_t vcpu;
    uint8_t vector;
};

#define HVM_PARAM_CALLBACK_IRQ 0
#define HVM_PARAM_STORE_PFN 1
#define HVM_PARAM_STORE_EVTCHN 2
#define HVM_PARAM_PAE_ENABLED 4
#define HVM_PARAM_IOREQ_PFN 5
#define HVM_PARAM_BUFIOREQ_PFN 6
#define HVM_PARAM_VIRIDIAN 9
#define HVM_PARAM_TIMER_MODE 10
#define HVM_PARAM_HPET_ENABLED 11
#define HVM_PARAM_IDENT_PT 12
#define HVM_PARAM_ACPI_S_STATE 14
#define HVM_PARAM_VM86_TSS 15
#define HVM_PARAM_VPT_ALIGN 16
#define HVM_PARAM_CONSOLE_PFN 17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define HVM_PARAM_ACPI_IOPORTS_LOCATION 19
#define HVM_PARAM_NESTEDHVM 24
#define HVM_PARAM_PAGING_RING_PFN 27
#define HVM_PARAM_MONITOR_RING_PFN 28
#define HVM_PARAM_SHARING_RING_PFN 29
#define HVM_PARAM_TRIPLE_FAULT_REASON 31
#define HVM_PARAM_IOREQ_SERVER_PFN 32
#define HVM_PARAM_NR_IOREQ_SERVER_PAGES 33
#define HVM_PARAM_VM_GENERATION_ID_ADDR 34
#define HVM_PARAM_ALTP2M 35
#define HVM_PARAM_X87_FIP_WIDTH 36
#define HVM_PARAM_VM86_TSS_SIZED 37
#define HVM_PARAM_MCA_CAP 38
#define HVM_NR_PARAMS 39

/* HVM_PARAM_CALLBACK_IRQ: value[63:56] is the delivery type. */
#define HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT 56
#define HVM_PARAM_CALLBACK_TYPE_GSI 0      /* value[55:0] = GSI (0 disables) */
#define HVM_PARAM_CALLBACK_TYPE_PCI_INTX 1 /* domain[47:32] bus[31:16] devfn[15:8] intx[1:0] */
#define HVM_PARAM_CALLBACK_TYPE_VECTOR 2   /* value[7:0] = vector, no EOI needed */

/* PVH boot: ebx points at this on entry. */
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578
#define SIF_PRIVILEGED (1 << 0)
#define SIF_INITDOMAIN (1 << 1)

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;        /* 1: memmap fields valid */
    uint32_t flags;          /* SIF_* */
    uint32_t nr_modules;
    uint64_t modlist_paddr;  /* struct hvm_modlist_entry[nr_modules] */
    uint64_t cmdline_paddr;  /* NUL-terminated */
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;   /* struct hvm_memmap_table_entry[memmap_entries] */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

#define XEN_HVM_MEMMAP_TYPE_RAM 1
#define XEN_HVM_MEMMAP_TYPE_RESERVED 2
#define XEN_HVM_MEMMAP_TYPE_ACPI 3
#define XEN_HVM_MEMMAP_TYPE_NVS 4
#define XEN_HVM_MEMMAP_TYPE_UNUSABLE 5
#define XEN_HVM_MEMMAP_TYPE_DISABLED 6
#define XEN_HVM_MEMMAP_TYPE_PMEM 7

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

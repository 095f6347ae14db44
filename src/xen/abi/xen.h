/* Core Xen guest ABI: hypercall numbers, VIRQs, domain ids, vcpu_info and shared_info. */
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned long xen_ulong_t; /* 32 bits for a 32-bit guest, 64 for a 64-bit guest */
typedef unsigned long xen_pfn_t;
typedef uint16_t domid_t;
typedef uint32_t evtchn_port_t;

/* Hypercall numbers: the index of the 32-byte stub in the hypercall page. */
#define XEN_HYPERCALL_set_trap_table 0
#define XEN_HYPERCALL_mmu_update 1
#define XEN_HYPERCALL_set_gdt 2
#define XEN_HYPERCALL_stack_switch 3
#define XEN_HYPERCALL_set_callbacks 4
#define XEN_HYPERCALL_fpu_taskswitch 5
#define XEN_HYPERCALL_sched_op_compat 6
#define XEN_HYPERCALL_platform_op 7
#define XEN_HYPERCALL_set_debugreg 8
#define XEN_HYPERCALL_get_debugreg 9
#define XEN_HYPERCALL_update_descriptor 10
#define XEN_HYPERCALL_memory_op 12
#define XEN_HYPERCALL_multicall 13
#define XEN_HYPERCALL_update_va_mapping 14
#define XEN_HYPERCALL_set_timer_op 15
#define XEN_HYPERCALL_event_channel_op_compat 16
#define XEN_HYPERCALL_xen_version 17
#define XEN_HYPERCALL_console_io 18
#define XEN_HYPERCALL_physdev_op_compat 19
#define XEN_HYPERCALL_grant_table_op 20
#define XEN_HYPERCALL_vm_assist 21
#define XEN_HYPERCALL_update_va_mapping_otherdomain 22
#define XEN_HYPERCALL_iret 23
#define XEN_HYPERCALL_vcpu_op 24
#define XEN_HYPERCALL_set_segment_base 25
#define XEN_HYPERCALL_mmuext_op 26
#define XEN_HYPERCALL_xsm_op 27
#define XEN_HYPERCALL_nmi_op 28
#define XEN_HYPERCALL_sched_op 29
#define XEN_HYPERCALL_callback_op 30
#define XEN_HYPERCALL_xenoprof_op 31
#define XEN_HYPERCALL_event_channel_op 32
#define XEN_HYPERCALL_physdev_op 33
#define XEN_HYPERCALL_hvm_op 34
#define XEN_HYPERCALL_sysctl 35
#define XEN_HYPERCALL_domctl 36
#define XEN_HYPERCALL_kexec_op 37
#define XEN_HYPERCALL_tmem_op 38
#define XEN_HYPERCALL_argo_op 39
#define XEN_HYPERCALL_xenpmu_op 40
#define XEN_HYPERCALL_dm_op 41
#define XEN_HYPERCALL_hypfs_op 42
#define XEN_HYPERCALL_COUNT 128 /* one page of 32-byte stubs */
#define XEN_HYPERCALL_STUB_SIZE 32

/* Virtual interrupts. V = per-vCPU, G = global. */
#define VIRQ_TIMER 0     /* V: timer tick / deadline reached */
#define VIRQ_DEBUG 1     /* V: dump debug info */
#define VIRQ_CONSOLE 2   /* G: emergency console input */
#define VIRQ_DOM_EXC 3   /* G: some domain had an exceptional event */
#define VIRQ_TBUF 4      /* G: trace buffer */
#define VIRQ_DEBUGGER 6  /* G: a domain paused for debugging */
#define VIRQ_XENOPROF 7  /* V: profiling sample */
#define VIRQ_CON_RING 8  /* G: console ring has data */
#define VIRQ_PCPU_STATE 9
#define VIRQ_MEM_EVENT 10
#define VIRQ_ARGO 11
#define VIRQ_ENOMEM 12
#define VIRQ_XENPMU 13
#define VIRQ_ARCH_0 16
#define VIRQ_ARCH_7 23
/* xkvm extension (design thread "PV extension of HVM"): ISA IRQ pin n is VIRQ_EMUL_PIN_START + n. */
#define VIRQ_EMUL_PIN_START 24
#define VIRQ_EMUL_PIN_NUM 16
#define NR_VIRQS (VIRQ_EMUL_PIN_START + VIRQ_EMUL_PIN_NUM)

#define DOMID_FIRST_RESERVED 0x7FF0U
#define DOMID_SELF 0x7FF0U
#define DOMID_IO 0x7FF1U
#define DOMID_XEN 0x7FF2U
#define DOMID_COW 0x7FF3U
#define DOMID_INVALID 0x7FF4U
#define DOMID_IDLE 0x7FFFU

/* console_io sub-ops */
#define CONSOLEIO_write 0
#define CONSOLEIO_read 1

/* Two-level event channels: a word of pending bits per selector bit. */
#define EVTCHN_2L_NR_CHANNELS (sizeof(xen_ulong_t) * sizeof(xen_ulong_t) * 64)

#define XEN_PVCLOCK_TSC_STABLE_BIT (1 << 0)
#define XEN_PVCLOCK_GUEST_STOPPED (1 << 1)

struct vcpu_time_info {
    uint32_t version;       /* odd while an update is in progress */
    uint32_t pad0;
    uint64_t tsc_timestamp; /* TSC when system_time was sampled */
    uint64_t system_time;   /* ns since domain boot */
    /* ns = system_time + ((((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32) */
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;          /* XEN_PVCLOCK_* */
    uint8_t pad1[2];
};

struct arch_vcpu_info {
    unsigned long cr2;
#if defined(__x86_64__)
    unsigned long pad;      /* 16 bytes on x86_64 */
#else
    unsigned long pad[5];   /* 24 bytes on x86_32 */
#endif
};

struct vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    xen_ulong_t evtchn_pending_sel;
    struct arch_vcpu_info arch;
    struct vcpu_time_info time;
}; /* 64 bytes in both layouts */

#define XEN_LEGACY_MAX_VCPUS 32

struct arch_shared_info {
    unsigned long max_pfn;
    xen_pfn_t pfn_to_mfn_frame_list_list;
    unsigned long nmi_reason;
    unsigned long p2m_cr3;
    unsigned long p2m_vaddr;
    unsigned long p2m_generation;
#if !defined(__x86_64__)
    uint32_t wc_sec_hi;
#endif
};

struct shared_info {
    struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
    xen_ulong_t evtchn_pending[sizeof(xen_ulong_t) * 8];
    xen_ulong_t evtchn_mask[sizeof(xen_ulong_t) * 8];
    uint32_t wc_version; /* odd while the wallclock is updated */
    uint32_t wc_sec;
    uint32_t wc_nsec;
#if defined(__x86_64__)
    uint32_t wc_sec_hi;
#endif
    struct arch_shared_info arch;
};

#ifdef __cplusplus
}
#endif

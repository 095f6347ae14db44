/* vcpu_op sub-ops and arguments. */
#pragma once
#include "xen/abi/xen.h"

#define VCPUOP_initialise 0
#define VCPUOP_up 1
#define VCPUOP_down 2
#define VCPUOP_is_up 3
#define VCPUOP_get_runstate_info 4
#define VCPUOP_register_runstate_memory_area 5
#define VCPUOP_set_periodic_timer 6
#define VCPUOP_stop_periodic_timer 7
#define VCPUOP_set_singleshot_timer 8
#define VCPUOP_stop_singleshot_timer 9
#define VCPUOP_register_vcpu_info 10
#define VCPUOP_send_nmi 11
#define VCPUOP_get_physid 12
#define VCPUOP_register_vcpu_time_memory_area 13

struct vcpu_set_periodic_timer {
    uint64_t period_ns;
};

#define VCPU_SSHOTTMR_future (1U << 0) /* fail with -ETIME if the deadline has passed */

struct vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns; /* system time */
    uint32_t flags;
};

struct vcpu_register_vcpu_info {
    uint64_t mfn;    /* guest frame holding the vcpu_info */
    uint32_t offset; /* offset of it in that frame */
    uint32_t rsvd;
};

/* HVM guests start secondary vCPUs with this context (VCPUOP_initialise). */
#define VCPU_HVM_MODE_32B 0
#define VCPU_HVM_MODE_64B 1

struct vcpu_hvm_x86_32 {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t eip, eflags;
    uint32_t cr0, cr3, cr4;
    uint32_t pad1;
    uint64_t efer;
    uint32_t cs_base, ds_base, ss_base, es_base, tr_base;
    uint32_t cs_limit, ds_limit, ss_limit, es_limit, tr_limit;
    uint16_t cs_ar, ds_ar, ss_ar, es_ar, tr_ar;
    uint16_t pad2[3];
};

struct vcpu_hvm_x86_64 {
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
    uint64_t rip, rflags;
    uint64_t cr0, cr3, cr4, efer;
};

struct vcpu_hvm_context {
    uint32_t mode; /* VCPU_HVM_MODE_* */
    uint32_t pad;
    union {
        struct vcpu_hvm_x86_32 x86_32;
        struct vcpu_hvm_x86_64 x86_64;
    } cpu_regs;
};

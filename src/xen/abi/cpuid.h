/* Xen's CPUID leaves (at 0x40000000). */
#pragma once

#define XEN_CPUID_FIRST_LEAF 0x40000000u
#define XEN_CPUID_LEAF(i) (XEN_CPUID_FIRST_LEAF + (i))
#define XEN_CPUID_MAX_NUM_LEAVES 5

/* Leaf 0: eax = highest leaf; ebx:ecx:edx = "XenVMMXenVMM" */
#define XEN_CPUID_SIGNATURE_EBX 0x566e6558u /* "XenV" */
#define XEN_CPUID_SIGNATURE_ECX 0x65584d4du /* "MMXe" */
#define XEN_CPUID_SIGNATURE_EDX 0x4d4d566eu /* "nVMM" */

/* Leaf 2: eax = hypercall pages, ebx = MSR base, ecx = features 1, edx = features 2 */
#define XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD (1u << 0)
/* Features 2 (edx): the HVM PV-extension bits of the design thread "PV extension of HVM". */
#define XEN_CPUID_FEAT2_HVM_PV (1u << 0)        /* PV extension framework */
#define XEN_CPUID_FEAT2_HVM_PV_CLOCK (1u << 1)  /* PV clocksource */
#define XEN_CPUID_FEAT2_HVM_PV_EVTCHN (1u << 2) /* legacy pins as event channels; needs PV_CLOCK */

/* Leaf 3: time. Sub-leaf 0: eax flags, ebx tsc_mode, ecx guest kHz, edx incarnation. */
#define XEN_CPUID_TSC_EMULATED (1u << 0)
#define XEN_CPUID_HOST_TSC_RELIABLE (1u << 1)
#define XEN_CPUID_RDTSCP_INSTR_AVAIL (1u << 2)
#define XEN_CPUID_TSC_MODE_DEFAULT 0
#define XEN_CPUID_TSC_MODE_NEVER_EMULATE 2

/* Leaf 4: HVM features in eax; ebx = vcpu id, ecx = domid when flagged. */
#define XEN_HVM_CPUID_APIC_ACCESS_VIRT (1u << 0)
#define XEN_HVM_CPUID_X2APIC_VIRT (1u << 1)
#define XEN_HVM_CPUID_IOMMU_MAPPINGS (1u << 2)
#define XEN_HVM_CPUID_VCPU_ID_PRESENT (1u << 3)
#define XEN_HVM_CPUID_DOMID_PRESENT (1u << 4)
#define XEN_HVM_CPUID_EXT_DEST_ID (1u << 5)
#define XEN_HVM_CPUID_UPCALL_VECTOR (1u << 6)

/* The hypercall MSR: writing a page's guest-physical address fills it with hypercall stubs. */
#define XEN_HYPERCALL_MSR 0x40000000u

/* Constants shared by the assembly and C parts of the guest library (no C declarations here). */
#pragma once

/* GDT selectors: the same table in 32- and 64-bit guests, so tests can switch modes. KCODE32, KDATA,
 * UCODE32, UDATA are consecutive as SYSEXIT requires (CS = SYSENTER_CS + 16, SS = SYSENTER_CS + 24). */
#define GDT_KCODE32 0x08
#define GDT_KDATA 0x10
#define GDT_UCODE32 0x18
#define GDT_UDATA 0x20
#define GDT_KCODE64 0x28
#define GDT_UCODE64 0x30
#define GDT_TSS 0x38 /* 16 bytes in long mode */
/* Per-CPU data (struct cpu_local) through GS. DPL 3 so that returns to CPL3 keep it loaded. */
#define GDT_PERCPU 0x48
#define GDT_ENTRIES 10

#if defined(__x86_64__)
#define GDT_KCODE GDT_KCODE64
#define GDT_UCODE GDT_UCODE64
#else
#define GDT_KCODE GDT_KCODE32
#define GDT_UCODE GDT_UCODE32
#endif

#define CR0_PE (1 << 0)
#define CR0_NE (1 << 5)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define MSR_SYSENTER_CS 0x174
#define EFER_LME (1 << 8)

#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_U 0x004
#define PTE_PS 0x080

#define EFLAGS_IF 0x200
#define EFLAGS_FIXED 0x002

/* CPL3 code reaches CPL0 with `ud2` (eax = call number; see guest/user.h). */
#define USER_SYS_EXIT 0
#define USER_SYS_WRITE 1

/* struct cpu_local (guest/smp.h): the fields the assembly uses, in longs from the start. */
#define CPU_LOCAL_SLOT(n) ((n) * __SIZEOF_LONG__)
#define CPU_LOCAL_SELF CPU_LOCAL_SLOT(0)
#define CPU_LOCAL_ID CPU_LOCAL_SLOT(1)
#define CPU_LOCAL_TSS CPU_LOCAL_SLOT(2)
#define CPU_LOCAL_USER_SAVED_SP CPU_LOCAL_SLOT(3)
#define CPU_LOCAL_USER_STACK_TOP CPU_LOCAL_SLOT(4)

/* Real-mode entry page of INIT-SIPI started CPUs (low RAM, below 1 MiB, page aligned). */
#define SMP_TRAMPOLINE_ADDR 0x8000

#define GUEST_LOAD_ADDR 0x100000
#define GUEST_BOOT_STACK_SIZE 0x4000
#define GUEST_USER_STACK_SIZE 0x10000
#define GUEST_DF_STACK_SIZE 0x1000

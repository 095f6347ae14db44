/* Where secondary CPUs enter the library.
 *
 * smp_trampoline_*: real-mode code for INIT-SIPI, copied to SMP_TRAMPOLINE_ADDR before the SIPI (it
 * lives in .rodata: it only runs from the copy). It loads the boot GDT, enters 32-bit protected mode
 * and jumps to smp_ap_entry32 with the stack and struct cpu_local* the booting CPU left in the copy.
 *
 * smp_ap_entry32: 32-bit flat, paging off; esp = stack top, ebx = struct cpu_local*. Also the entry of
 * a 32-bit VCPUOP_initialise context. 64-bit guests go on into long mode, to smp_ap_entry64.
 * smp_ap_entry64: long mode, the boot page tables; rsp, rbx as above. Also the entry of a 64-bit
 * VCPUOP_initialise context, which arrives with no usable GDT: smp_ap_start_c loads its own. */
#include "guest/arch.h"

    .section .rodata, "a", @progbits
    .balign 16
    .globl smp_trampoline_start, smp_trampoline_end, smp_trampoline_stack, smp_trampoline_local
    .code16
smp_trampoline_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl smp_trampoline_gdt - smp_trampoline_start
    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    ljmpl $GDT_KCODE32, $(SMP_TRAMPOLINE_ADDR + (1f - smp_trampoline_start))
    .code32
1:  movl $GDT_KDATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl SMP_TRAMPOLINE_ADDR + (smp_trampoline_stack - smp_trampoline_start), %esp
    movl SMP_TRAMPOLINE_ADDR + (smp_trampoline_local - smp_trampoline_start), %ebx
    movl $smp_ap_entry32, %eax
    jmp *%eax
    .balign 8
    .word 0
smp_trampoline_gdt:
    .word GDT_ENTRIES * 8 - 1
    .long guest_gdt
smp_trampoline_stack:
    .long 0
smp_trampoline_local:
    .long 0
smp_trampoline_end:

    .text
    .code32
    .globl smp_ap_entry32
    .type smp_ap_entry32, @function
smp_ap_entry32:
    cli
    cld
    lgdt guest_gdt_desc
    ljmp $GDT_KCODE32, $1f
1:  movl $GDT_KDATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
#if defined(__x86_64__)
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $guest_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_WP | CR0_NE | CR0_PE), %eax
    movl %eax, %cr0
    ljmp $GDT_KCODE64, $smp_ap_entry64
    .size smp_ap_entry32, . - smp_ap_entry32

    .code64
    .globl smp_ap_entry64
    .type smp_ap_entry64, @function
smp_ap_entry64:
    cli
    cld
    movq %rbx, %rdi
    xorl %ebp, %ebp
    call smp_ap_start_c
#else
    movl %cr0, %eax
    orl $CR0_NE, %eax
    movl %eax, %cr0
    xorl %ebp, %ebp
    subl $12, %esp                         /* 16-byte aligned at the call */
    pushl %ebx
    call smp_ap_start_c
#endif
2:  cli
    hlt
    jmp 2b

    .section .note.GNU-stack, "", @progbits

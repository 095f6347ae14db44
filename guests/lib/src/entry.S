/* PVH / HVM-firmware entry: 32-bit flat protected mode, paging off, ebx = start info (or 0).
 * Zeroes .bss, loads the GDT, and (64-bit guests) enables long mode with the low 4 GiB identity
 * mapped in 2 MiB pages before calling guest_start_c(). */
#include "guest/arch.h"
#include "xen/abi/elfnote.h"

    .section .note.Xen, "a", @note
    .balign 4
    .long 2f - 1f                  /* namesz */
    .long 4f - 3f                  /* descsz */
    .long XEN_ELFNOTE_PHYS32_ENTRY
1:  .asciz "Xen"
2:  .balign 4
3:  .long _start                   /* physical entry point */
4:  .balign 4

    .section .text.entry, "ax", @progbits
    .code32
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    movl %ebx, guest_boot_ebx_value
    lgdt guest_gdt_desc
    ljmp $GDT_KCODE32, $1f
1:  movl $GDT_KDATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl
    movl $guest_boot_stack_top, %esp

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
    ljmp $GDT_KCODE64, $long_mode_entry

    .code64
long_mode_entry:
    movl $GDT_KDATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $guest_boot_stack_top, %rsp
    xorl %ebp, %ebp
    call guest_start_c
#else
    movl %cr0, %eax
    orl $CR0_NE, %eax
    movl %eax, %cr0
    xorl %ebp, %ebp
    call guest_start_c
#endif
2:  cli
    hlt
    jmp 2b
    .size _start, . - _start

    .data
    .globl guest_boot_ebx_value
guest_boot_ebx_value:
    .long 0

/* Flat segments; accessed bits preset so loading them never writes the table. */
    .balign 16
    .globl guest_gdt
guest_gdt:
    .quad 0                          /* 0x00 null */
    .quad 0x00cf9b000000ffff         /* 0x08 kernel code, 32-bit */
    .quad 0x00cf93000000ffff         /* 0x10 kernel data */
    .quad 0x00cffb000000ffff         /* 0x18 user code, 32-bit */
    .quad 0x00cff3000000ffff         /* 0x20 user data */
    .quad 0x00af9b000000ffff         /* 0x28 kernel code, 64-bit */
    .quad 0x00affb000000ffff         /* 0x30 user code, 64-bit */
    .quad 0, 0                       /* 0x38 TSS, filled in by desc.c */
    .quad 0                          /* 0x48 per-CPU data (GS), filled in by desc.c */
guest_gdt_end:
    .balign 4
    .word 0
    .globl guest_gdt_desc
guest_gdt_desc:
    .word guest_gdt_end - guest_gdt - 1
    .long guest_gdt

#if defined(__x86_64__)
    .section .data.pagetables, "aw", @progbits
    .balign 4096
    .globl guest_pml4, guest_pdpt, guest_pd
guest_pml4:
    .quad guest_pdpt + (PTE_P | PTE_W | PTE_U)
    .fill 511, 8, 0
guest_pdpt:
    .quad guest_pd + 0x0000 + (PTE_P | PTE_W | PTE_U)
    .quad guest_pd + 0x1000 + (PTE_P | PTE_W | PTE_U)
    .quad guest_pd + 0x2000 + (PTE_P | PTE_W | PTE_U)
    .quad guest_pd + 0x3000 + (PTE_P | PTE_W | PTE_U)
    .fill 508, 8, 0
guest_pd:
    .set page, 0
    .rept 2048
    .quad (page << 21) | (PTE_P | PTE_W | PTE_U | PTE_PS)
    .set page, page + 1
    .endr
#endif

    .section .noinit, "aw", @nobits
    .balign 16
    .globl guest_boot_stack, guest_boot_stack_top
guest_boot_stack:
    .skip GUEST_BOOT_STACK_SIZE
guest_boot_stack_top:

    .section .note.GNU-stack, "", @progbits

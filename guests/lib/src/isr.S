/* Interrupt stubs (one per vector, 16 bytes apart), the common save/restore path, and the CPL3
 * entry/return used by guest_run_user() (per CPU: stack, saved state and TSS through GS). CPL3 code comes back to CPL0 through `ud2` (#UD), which
 * works on every x86 CPU and hypervisor; `int n` is not used because KVM cannot emulate it. */
#include "guest/arch.h"

/* Vectors where the CPU pushes an error code. */
#define HAS_ERROR_CODE(v) ((v) == 8 || (v) == 10 || (v) == 11 || (v) == 12 || (v) == 13 || (v) == 14 || \
                           (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

    .text
    .balign 16
    .globl guest_isr_stubs
guest_isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if !HAS_ERROR_CODE(vec)
    push $0
    .endif
    push $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

#if defined(__x86_64__)
isr_common:
    push %r15
    push %r14
    push %r13
    push %r12
    push %r11
    push %r10
    push %r9
    push %r8
    push %rbp
    push %rdi
    push %rsi
    push %rdx
    push %rcx
    push %rbx
    push %rax
    movq %rsp, %rdi
    cld
    call trap_dispatch
    pop %rax
    pop %rbx
    pop %rcx
    pop %rdx
    pop %rsi
    pop %rdi
    pop %rbp
    pop %r8
    pop %r9
    pop %r10
    pop %r11
    pop %r12
    pop %r13
    pop %r14
    pop %r15
    addq $16, %rsp
    iretq

/* long guest_run_user(long (*fn)(void*), void* arg) */
    .globl guest_run_user
    .type guest_run_user, @function
guest_run_user:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    pushfq
    movq %rsp, %gs:CPU_LOCAL_USER_SAVED_SP
    movq %gs:CPU_LOCAL_TSS, %rax
    movq %rsp, 4(%rax)                     /* rsp0: traps from CPL3 land below the saved state */
    movq (%rsp), %rax
    andl $EFLAGS_IF, %eax
    orl $EFLAGS_FIXED, %eax
    pushq $(GDT_UDATA | 3)
    pushq %gs:CPU_LOCAL_USER_STACK_TOP
    pushq %rax
    pushq $(GDT_UCODE64 | 3)
    pushq $user_trampoline
    iretq
    .size guest_run_user, . - guest_run_user

user_trampoline:                           /* CPL3: rdi = fn, rsi = arg */
    xorl %ebp, %ebp                        /* ends backtraces here */
    movq %rdi, %rax
    movq %rsi, %rdi
    call *%rax
    movq %rax, %rdi
    movl $USER_SYS_EXIT, %eax
    ud2

/* Called at CPL0 from the syscall handler: drops the trap frame and returns from guest_run_user. */
    .globl guest_user_return
    .type guest_user_return, @function
guest_user_return:
    movq %rdi, %rax
    movq %gs:CPU_LOCAL_USER_SAVED_SP, %rsp
    movl $GDT_KDATA, %ecx
    movw %cx, %ss
    movw %cx, %ds
    movw %cx, %es
    popfq
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret
    .size guest_user_return, . - guest_user_return

#else /* 32-bit */

/* struct trap_frame offsets (pushal, es, ds, vector, error code, then what the CPU pushed). */
#define TF_CX 24
#define TF_DX 20
#define TF_VECTOR 40
#define TF_IP 48
#define TF_CS 52
#define TF_FLAGS 56
#define TF_SP 60

isr_common:
    pushl %ds
    pushl %es
    pushal
    movl $GDT_KDATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movl %esp, %eax
    pushl %eax
    cld
    call trap_dispatch
    addl $4, %esp
    testl $3, TF_CS(%esp)
    jnz return_to_user
    cmpl $2, TF_VECTOR(%esp)
    je return_with_iret
/* Same privilege: popf + far return does what iret does here (short of unblocking NMIs), and unlike
 * a 32-bit protected-mode iret it is something KVM's instruction emulator can run. */
    popal
    popl %es
    popl %ds
    addl $8, %esp
    pushl 8(%esp)
    popfl
    lret $4
return_with_iret:                          /* NMI: only iret unblocks further NMIs */
    popal
    popl %es
    popl %ds
    addl $8, %esp
    iretl
/* To CPL3 with sysexit (eip = edx, esp = ecx): the user's eip, eflags, ecx and edx go on its stack and
 * user_resume restores them. Equivalent to iret for a flat CPL3 context. */
return_to_user:
    movl TF_SP(%esp), %eax
    subl $16, %eax
    movl TF_IP(%esp), %ebx
    movl %ebx, 12(%eax)
    movl TF_FLAGS(%esp), %ebx
    movl %ebx, 8(%eax)
    movl TF_CX(%esp), %ebx
    movl %ebx, 4(%eax)
    movl TF_DX(%esp), %ebx
    movl %ebx, 0(%eax)
    movl %eax, TF_CX(%esp)
    movl $user_resume, TF_DX(%esp)
    popal
    popl %es
    popl %ds
    addl $8, %esp
    testl $EFLAGS_IF, 8(%esp)
    jz 1f
    sti                                    /* its shadow covers sysexit */
1:  sysexit

user_resume:                               /* CPL3 */
    popl %edx
    popl %ecx
    popfl
    ret

    .globl guest_run_user
    .type guest_run_user, @function
guest_run_user:
    movl 4(%esp), %ecx                     /* fn */
    movl 8(%esp), %edx                     /* arg */
    push %ebx
    push %ebp
    push %esi
    push %edi
    pushfl
    movl %esp, %gs:CPU_LOCAL_USER_SAVED_SP
    movl %gs:CPU_LOCAL_TSS, %eax
    movl %esp, 4(%eax)                     /* esp0 */
    movl %ecx, %esi
    movl %edx, %edi
    movl %gs:CPU_LOCAL_USER_STACK_TOP, %ecx
    movl $user_trampoline, %edx
    movl $(GDT_UDATA | 3), %eax
    movw %ax, %ds
    movw %ax, %es
    testl $EFLAGS_IF, (%esp)
    jz 1f
    sti
1:  sysexit
    .size guest_run_user, . - guest_run_user

user_trampoline:                           /* CPL3: esi = fn, edi = arg */
    xorl %ebp, %ebp
    subl $12, %esp
    pushl %edi
    call *%esi
    addl $16, %esp
    movl %eax, %edi
    movl $USER_SYS_EXIT, %eax
    ud2

    .globl guest_user_return
    .type guest_user_return, @function
guest_user_return:
    movl 4(%esp), %eax
    movl %gs:CPU_LOCAL_USER_SAVED_SP, %esp
    movl $GDT_KDATA, %ecx
    movw %cx, %ss
    movw %cx, %ds
    movw %cx, %es
    popfl
    pop %edi
    pop %esi
    pop %ebp
    pop %ebx
    ret
    .size guest_user_return, . - guest_user_return
#endif

    .section .noinit, "aw", @nobits
    .balign 16
    .globl guest_user_stack, guest_user_stack_top
guest_user_stack:
    .skip GUEST_USER_STACK_SIZE
guest_user_stack_top:
    .globl guest_df_stack_top
    .skip GUEST_DF_STACK_SIZE
guest_df_stack_top:

    .section .note.GNU-stack, "", @progbits

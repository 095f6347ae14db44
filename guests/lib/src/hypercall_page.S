/* The hypercall page. Until Xen fills it (xen_setup_hypercall_page), each 32-byte stub returns
 * -ENOSYS, so a hypercall made without Xen fails cleanly instead of running zeroes. */
#include "xen/abi/errno.h"

    .section .data.hypercall_page, "aw", @progbits
    .balign 4096
    .globl xen_hypercall_page
    .type xen_hypercall_page, @object
xen_hypercall_page:
    .rept 128
    .balign 32
#if defined(__x86_64__)
    movq $-XEN_ENOSYS, %rax
#else
    movl $-XEN_ENOSYS, %eax
#endif
    ret
    .endr
    .balign 4096
    .size xen_hypercall_page, 4096

    .section .note.GNU-stack, "", @progbits
